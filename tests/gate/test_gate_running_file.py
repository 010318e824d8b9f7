"""The gate file is written atomically, first as "running": no run that fails to decide leaves an earlier GO in place.

Each run publishes under reports/runs/<run_id>/; reports/gate.json is the latest-started run's file.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from gate_testing import GateProject

from rollout_gate.cli import main
from rollout_gate.gate.files import load_gate_file

EXIT_GO, EXIT_INCONCLUSIVE = 0, 11
SMOKE = "import pytest\n\n@pytest.mark.smoke\ndef test_health():\n    pass\n"
# A smoke test that says it started, then waits for `release` (or for the kill).
WAITING = """
import pathlib, time
import pytest

@pytest.mark.smoke
def test_waits():
    here = pathlib.Path(__file__).parent
    (here / "started").write_text("1")
    for _ in range(600):
        if (here / "release").exists():
            return
        time.sleep(0.1)
"""


def read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def earlier_go(gate_project: GateProject) -> dict[str, Any]:
    """A first run that ends GO, leaving reports/gate.json behind."""
    gate_project.pytester.makepyfile(test_smoke=SMOKE)
    assert gate_project.run("--env=staging", "-m", "smoke").ret == EXIT_GO
    gate = gate_project.gate()
    assert gate["verdict"] == "GO"
    return gate


def test_running_file_is_in_place_while_the_tests_run(gate_project: GateProject) -> None:
    earlier_go(gate_project)
    gate_project.pytester.makepyfile(
        test_smoke=SMOKE.replace(
            "    pass\n",
            "    import json, pathlib\n"
            "    top = json.loads(pathlib.Path('reports/gate.json').read_text())\n"
            "    own = json.loads(pathlib.Path('reports/runs', top['run_id'], 'gate.json').read_text())\n"
            "    assert top == own\n"
            "    pathlib.Path('seen.json').write_text(json.dumps(top))\n",
        )
    )
    result = gate_project.run("--env=staging", "-m", "smoke")
    assert result.ret == EXIT_GO
    seen = read(gate_project.pytester.path / "seen.json")
    assert (seen["status"], seen["verdict"], seen["exit_code"]) == ("running", "INCONCLUSIVE", EXIT_INCONCLUSIVE)
    assert seen["reasons"] == ["run did not finish"] and seen["criteria"] == []
    assert (seen["environment"], seen["finished_at"]) == ("staging", None)
    final = gate_project.gate()
    assert (final["status"], final["verdict"], final["run_id"]) == ("finished", "GO", seen["run_id"])
    run_dir = gate_project.reports / "runs" / seen["run_id"]
    assert read(run_dir / "gate.json") == final
    assert (run_dir / "gate.md").read_text() == (gate_project.reports / "gate.md").read_text()
    # Atomic writes leave no temporary file behind.
    assert not [p.name for p in gate_project.reports.rglob(".*.tmp")]
    result.stdout.fnmatch_lines(
        [f"gate file: {run_dir / 'gate.json'}", "gate file: */reports/gate.json (this run's copy)"]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--env=staging", "--phase=bogus"], "--phase: unknown phase 'bogus'"),
        (["--env=production", "--phase=load"], "phase load is not enabled for this environment"),
        (["--env=staging", "--criteria-broken"], "criteria.override: unknown criterion zero_data_los"),
        (["--env=nonexistent"], "nonexistent"),
    ],
    ids=["bad-phase", "phase-not-enabled", "criteria-error", "unknown-environment"],
)
def test_usage_error_replaces_an_earlier_go(gate_project: GateProject, args: list[str], message: str) -> None:
    earlier = earlier_go(gate_project)
    if "--criteria-broken" in args:
        gate_project.gate_env("staging", criteria="override:\n  zero_data_los: {action: rollback}")
        args = [a for a in args if a != "--criteria-broken"]
    result = gate_project.run(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    gate = gate_project.gate()
    assert gate["verdict"] != "GO", "an earlier run's GO survived the usage error"
    assert (gate["verdict"], gate["exit_code"], gate["status"]) == ("INCONCLUSIVE", EXIT_INCONCLUSIVE, "aborted")
    assert gate["run_id"] != earlier["run_id"]
    (reason,) = gate["reasons"]
    assert reason.startswith("run did not finish: usage error: ") and message in reason, reason
    load_gate_file(gate_project.reports / "gate.json")  # follows the schema
    assert main(["verdict", str(gate_project.reports / "gate.json")]) == EXIT_INCONCLUSIVE


@pytest.mark.parametrize(
    "hook",
    [
        "def pytest_collection_modifyitems(items):\n    raise RuntimeError('conftest hook exploded')\n",
        "def pytest_sessionstart(session):\n    raise RuntimeError('conftest hook exploded')\n",
    ],
    ids=["collection", "sessionstart"],
)
def test_internal_error_replaces_an_earlier_go(gate_project: GateProject, hook: str) -> None:
    earlier_go(gate_project)
    gate_project.pytester.makeconftest(hook)
    result = gate_project.run("--env=staging", "-m", "smoke")
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    gate = gate_project.gate()
    assert gate["verdict"] != "GO", "an earlier run's GO survived the internal error"
    assert (gate["verdict"], gate["status"]) == ("INCONCLUSIVE", "aborted")
    assert gate["reasons"] == ["run did not finish: internal error: RuntimeError: conftest hook exploded"]


def start_waiting_run(gate_project: GateProject, *args: str) -> Any:
    gate_project.pytester.makepyfile(test_waiting=WAITING)
    proc = gate_project.pytester.popen(
        [sys.executable, "-m", "pytest", "--env=staging", "-p", "no:cacheprovider", "test_waiting.py", *args],
        stdout=open(gate_project.pytester.path / "waiting.out", "wb"),  # noqa: SIM115 - closed with the process
        stderr=open(gate_project.pytester.path / "waiting.err", "wb"),  # noqa: SIM115
    )
    started = gate_project.pytester.path / "started"
    deadline = time.monotonic() + 60
    while not started.exists():
        assert proc.poll() is None, (gate_project.pytester.path / "waiting.out").read_text()
        assert time.monotonic() < deadline, "the waiting test never started"
        time.sleep(0.1)
    return proc


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_run_never_leaves_go(gate_project: GateProject, sig: signal.Signals) -> None:
    earlier = earlier_go(gate_project)
    proc = start_waiting_run(gate_project)
    proc.send_signal(sig)
    assert proc.wait(timeout=60) != 0
    gate = gate_project.gate()
    assert gate["verdict"] != "GO" and gate["exit_code"] != EXIT_GO
    assert gate["run_id"] != earlier["run_id"]
    if sig == signal.SIGKILL:
        assert (gate["status"], gate["reasons"]) == ("running", ["run did not finish"])
    assert main(["verdict", str(gate_project.reports / "gate.json")]) != EXIT_GO


def test_concurrent_runs_keep_their_own_verdicts(gate_project: GateProject) -> None:
    first = start_waiting_run(gate_project)
    running = gate_project.gate()
    assert running["status"] == "running"
    # A second run starts (and finishes) while the first is still running.
    gate_project.pytester.makepyfile(test_smoke=SMOKE)
    assert gate_project.run("--env=staging", "test_smoke.py").ret == EXIT_GO
    second = gate_project.gate()
    assert second["run_id"] != running["run_id"] and second["status"] == "finished"
    (gate_project.pytester.path / "release").write_text("1")
    assert first.wait(timeout=60) == EXIT_GO
    # The first run finished last, but the second started later: reports/gate.json stays the second's.
    assert gate_project.gate() == second
    own = read(gate_project.reports / "runs" / running["run_id"] / "gate.json")
    assert (own["status"], own["verdict"], own["run_id"]) == ("finished", "GO", running["run_id"])
    assert "belongs to a run that started later" in (gate_project.pytester.path / "waiting.out").read_text()
