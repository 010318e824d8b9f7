"""Runbook: "API p95 < 500 ms", "error rate < 1%", "error rate > 10% for 5 minutes -> roll back",
"login failure rate > 10% -> roll back", "zero RLS violations" under concurrent load.

The test checks that a bounded Locust run happened and handed its numbers over;
the gate's load criteria judge those numbers (fail closed: too few requests is inconclusive).
"""

from __future__ import annotations

import pytest

from rollout_gate.gate.files import load_gate_file
from rollout_gate.gate.measurements import MeasurementRecorder
from rollout_gate.load.runner import LoadRun

pytestmark = [pytest.mark.load, pytest.mark.destructive]

# Locust's own exit codes when it ran to the end: the load verdict (GO, NO_GO, ROLLBACK, INCONCLUSIVE).
VERDICT_CODES = {0, 1, 10, 11}


def test_bounded_load_run_reports_its_measurements(
    rollout_load_run: LoadRun, rollout_measurements: MeasurementRecorder
) -> None:
    if rollout_load_run.problem:  # missing, or a stale file of another run: no measurements of this one
        rollout_measurements.record("load.p95_ms", None, error=rollout_load_run.problem)
        pytest.fail(f"{rollout_load_run.problem}:\n{rollout_load_run.tail}")
    rollout_measurements.record_all(load_gate_file(rollout_load_run.result).measurements)
    assert rollout_load_run.returncode in VERDICT_CODES, f"Locust did not run to the end:\n{rollout_load_run.tail}"
