"""A superuser login on a writes-forbidden target is named in the header and is a warn-level finding."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.rehearsal import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import time_to_no_go as phase_runs


def test_a_superuser_login_on_a_writes_forbidden_target_is_flagged(tmp_path: Path) -> None:
    with phase_runs.embedded_server(tmp_path / "state") as cluster:
        info = cluster.ensure_running()
        dsn = info.dsn()  # the embedded server's superuser, postgres
        run = phase_runs.run_phase(dsn, tmp_path, "-k", "login_that_cannot_write", "-rA")
    header = next(line for line in run.output.splitlines() if line.startswith("rollout-gate: database role"))
    assert header.startswith("rollout-gate: database role postgres (superuser;"), header
    assert "WARNING" in header
    assert info.password not in run.output
    assert "target.database_url logs in as postgres, a superuser, on a target that forbids writes" in run.output
    assert "(review, warn level)" in run.output
