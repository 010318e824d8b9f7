"""Standalone Locust runs refuse what the environment forbids, before sending a single request."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rollout_gate.load import locustfile_path

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = locustfile_path()


def locust(tmp_path: Path, *args: str, **environ: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLOUT_")} | environ
    argv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "-u", "1", "-r", "1", "-t", "1s",
            "--rollout-result", str(tmp_path / "load.json"), *args]  # fmt: skip
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_refuses_without_an_environment(tmp_path: Path) -> None:
    proc = locust(tmp_path, "--host", "http://127.0.0.1:9")
    assert proc.returncode == 4
    assert "name the environment with --rollout-env" in proc.stderr
    assert not (tmp_path / "load.json").exists()


def test_refuses_an_environment_that_forbids_load(tmp_path: Path) -> None:
    proc = locust(
        tmp_path, "--host", "https://app.example.test", "--rollout-env", "production",
        PRODUCTION_BASE_URL="https://app.example.test", PRODUCTION_DATABASE_URL="postgresql://r:pw-1234@db.test/app",
    )  # fmt: skip
    assert proc.returncode == 4
    assert "safety.allow_load is false: production refuses load runs" in proc.stderr
    assert "pw-1234" not in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("env", "host", "message"),
    [
        ("staging", "https://elsewhere.example.test", "is not staging's target.base_url"),
        ("local", "http://192.0.2.10:8000", "the local environment only takes loopback hosts"),
    ],
)
def test_refuses_a_host_that_is_not_the_environments(tmp_path: Path, env: str, host: str, message: str) -> None:
    proc = locust(
        tmp_path, "--host", host, "--rollout-env", env,
        STAGING_BASE_URL="https://staging.example.test", STAGING_DATABASE_URL="postgresql://u:pw-5678@db.test/app",
    )  # fmt: skip
    assert proc.returncode == 4, proc.stderr
    assert message in proc.stderr
