"""`rollout-gate locust` and `rollout-gate locustfile`: the shipped locustfile, usable without this repository."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rollout_gate.cli", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_locust_help_lists_the_rollout_options() -> None:
    result = _cli("locust", "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--rollout-env", "--rollout-users-csv", "--rollout-max-requests", "--rollout-result"):
        assert option in result.stdout, option
    assert "--headless" in result.stdout  # and Locust's own


def test_locust_refuses_another_locustfile() -> None:
    result = _cli("locust", "-f", "other.py", "--headless")
    assert result.returncode == 4
    assert "-f/--locustfile is the harness's own" in result.stderr


def test_locustfile_prints_the_shipped_entry_point() -> None:
    result = _cli("locustfile")
    assert result.returncode == 0
    path = Path(result.stdout.strip())
    assert path.name == "locustfile.py" and path.is_file()
    assert "TenantMember" in path.read_text()
