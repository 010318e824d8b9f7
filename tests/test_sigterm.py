"""SIGTERM (CI timeouts, `kill`, Kubernetes) ends a run like Ctrl-C: cleanup runs and the verdict is not GO."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import RolloutProject
from tests.rehearsal import SMALL_SCALE

SLOW_TEST = """
import time
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def provisioned():
    yield
    Path("teardown-ran").write_text("yes")


@pytest.mark.smoke
def test_passes():
    pass


@pytest.mark.smoke
def test_slow(provisioned, {fixtures}):
    Path("started").write_text("yes")
    time.sleep(120)
"""


def _start(project: RolloutProject, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLOUT_", "PYTEST_"))} | (env or {})
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
    return subprocess.Popen(argv, cwd=project.pytester.path, env=environ, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip


def _wait_for(path: Path, proc: subprocess.Popen[str], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the run never reached its slow test:\n{proc.communicate()[0][-3000:]}")
        time.sleep(0.1)


def _terminate(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("SIGTERM did not end the run within 30 s")
    return proc.returncode, out


def test_sigterm_tears_down_and_writes_an_interrupted_verdict(rollout_project: RolloutProject) -> None:
    rollout_project.pytester.makepyfile(SLOW_TEST.format(fixtures="rollout_env"))
    proc = _start(rollout_project, "--env=staging")
    _wait_for(rollout_project.pytester.path / "started", proc, 60)
    code, out = _terminate(proc)
    assert code == pytest.ExitCode.INTERRUPTED, out[-3000:]
    assert (rollout_project.pytester.path / "teardown-ran").exists()
    gate = json.loads((rollout_project.reports / "gate.json").read_text())
    assert gate["verdict"] != "GO"
    assert any("interrupted" in reason for reason in gate["harness_errors"] + gate["reasons"]), gate
    assert "Traceback" not in out


def test_sigterm_stops_the_local_target(rollout_project: RolloutProject) -> None:
    rollout_project.pytester.makepyfile(SLOW_TEST.format(fixtures="rollout_target_dsn").replace("smoke", "predeploy"))
    proc = _start(rollout_project, "--env=local", "--phase=pre-deploy", env=SMALL_SCALE)
    _wait_for(rollout_project.pytester.path / "started", proc, 240)
    pg = rollout_project.pytester.path / ".rollout" / "pg"
    (cluster,) = [p for p in pg.iterdir() if p.is_dir()]
    code, out = _terminate(proc)
    assert code == pytest.ExitCode.INTERRUPTED, out[-3000:]
    assert not cluster.exists(), "the embedded server's data directory outlived the run"
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert str(cluster) not in ps, "a postgres process of the run is still running"
