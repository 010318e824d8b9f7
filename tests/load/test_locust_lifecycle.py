"""A load run dies with the harness that started it, and only a run that ended writes measurements.

Real Locust against a counting HTTP server on loopback. The harness is simulated by a small Python
parent that starts the runner exactly as the load phase does; SIGKILL gives it no chance to clean up.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rollout_gate.load.runner import LoadSpec
from tests.load.loopback import (
    ENVIRONMENTS,
    LOCUSTFILE,
    ROOT,
    children_of,
    counting_server,
    kill_groups,
    locust_env,
    pool_file,
    run_locust,
    running,
    start_locust,
    wait_for,
)  # fmt: skip

# The harness side of a load phase: starts the runner and blocks in it, as the pytest fixture does.
HARNESS = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from rollout_gate.load.runner import LoadSpec, run_load

    locustfile, host, envs, result, pool, workers = sys.argv[1:7]
    spec = LoadSpec(locustfile=Path(locustfile), host=host, environment="local", environments_dir=Path(envs),
                    result=Path(result), users=2, spawn_rate=2, run_time_s=60, max_requests=50_000,
                    pool=Path(pool), workers=int(workers), run_id="run-killed")
    run = run_load(spec, password=None, cwd=Path.cwd())
    print("harness finished", run.returncode)
    """
)
# "Within a few seconds": the parent is polled every 0.5 s, then users stop and workers are told.
EXIT_WITHIN_S = 8


def locust_processes(harness: subprocess.Popen[bytes], expected: int) -> list[int]:
    wait_for(lambda: len(children_of(harness.pid)) >= expected, 30, f"{expected} Locust process(es) started")
    return children_of(harness.pid)


@pytest.mark.parametrize("workers", [0, 1], ids=["local-runner", "master-and-worker"])
def test_sigkilled_harness_takes_locust_down_and_leaves_no_result(tmp_path: Path, workers: int) -> None:
    result = tmp_path / "reports" / "load.json"
    with counting_server() as target:
        argv = [sys.executable, "-c", HARNESS, str(LOCUSTFILE), target.url, str(ENVIRONMENTS), str(result),
                str(pool_file(tmp_path)), str(workers)]  # fmt: skip
        harness = subprocess.Popen(argv, cwd=ROOT, env=locust_env(), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)  # fmt: skip
        pids: list[int] = []
        try:
            pids = locust_processes(harness, 1 + workers)
            wait_for(lambda: target.count >= 20, 60, "the load run loading the target")
            harness.send_signal(signal.SIGKILL)
            harness.wait(10)
            took = wait_for(lambda: not any(running(p) for p in pids), EXIT_WITHIN_S, "Locust exiting after SIGKILL")
            assert took < EXIT_WITHIN_S
            seen = target.count
            time.sleep(1.5)
            assert target.count == seen, "the target still receives load after the harness was killed"
        finally:
            harness.kill()
            kill_groups(pids)
    assert not result.exists(), "a killed run wrote a measurements file"
    assert not list(tmp_path.rglob(".load.json.*")), "a killed run left a partial measurements file"


def test_a_run_that_ends_writes_its_measurements_with_the_run_id(tmp_path: Path) -> None:
    result = tmp_path / "load.json"
    with counting_server() as target:
        proc = run_locust("--headless", "--host", target.url, "-u", "2", "-r", "2", "-t", "4s", "--only-summary",
                          "--rollout-env", "local", "--rollout-pool", str(pool_file(tmp_path)),
                          "--rollout-result", str(result), "--rollout-run-id", "run-ended")  # fmt: skip
        sent = target.count
    assert proc.returncode in (0, 1, 10, 11), proc.stdout[-2000:] + proc.stderr[-2000:]
    assert sent > 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    data = json.loads(result.read_text())
    assert data["run_id"] == "run-ended" and data["target"] == target.url
    assert data["measurements"] and not list(tmp_path.glob(".load.json.*"))


def test_sigterm_mid_run_writes_no_measurements(tmp_path: Path) -> None:
    result = tmp_path / "load.json"
    with counting_server() as target:
        proc = start_locust("--headless", "--host", target.url, "-u", "2", "-r", "2", "-t", "60s", "--only-summary",
                            "--rollout-env", "local", "--rollout-pool", str(pool_file(tmp_path)),
                            "--rollout-result", str(result), "--rollout-run-id", "run-terminated")  # fmt: skip
        try:
            wait_for(lambda: target.count >= 20, 60, "the load run loading the target")
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=20)
        finally:
            kill_groups([proc.pid])
    assert proc.returncode == 2, out[-2000:]
    assert "the run was interrupted before it ended: no measurements written" in out
    assert not result.exists()


def test_a_result_of_another_run_is_not_this_runs(tmp_path: Path) -> None:
    from rollout_gate.load.runner import result_problem

    result = tmp_path / "load.json"
    spec = LoadSpec(locustfile=LOCUSTFILE, host="http://127.0.0.1:9", environment="local",
                    environments_dir=ENVIRONMENTS, result=result, users=1, spawn_rate=1, run_time_s=1,
                    max_requests=1, run_id="run-b")  # fmt: skip
    assert result_problem(spec, 0) == f"Locust exited 0 without writing {result}"
    result.write_text(json.dumps({"kind": "measurements", "run_id": "run-a", "measurements": []}))
    assert result_problem(spec, 0) == f"{result} records run run-a, not this run run-b: a stale file"
    result.write_text(json.dumps({"kind": "measurements", "measurements": []}))
    assert "records run (none)" in (result_problem(spec, 0) or "")
    result.write_text(json.dumps({"kind": "measurements", "run_id": "run-b", "measurements": []}))
    assert result_problem(spec, 0) is None
