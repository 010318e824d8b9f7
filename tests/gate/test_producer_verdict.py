"""A producer's own verdict (the Locust run's exit code) still judges its measurements by the criteria.

`rollout-gate verdict` never takes such a file alone as evidence (test_verdict_fail_closed.py);
the producer's report of what its numbers say is a different question, answered the same way as before.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from gate_testing import GateProject
from test_verdict_fail_closed import load_measurements

from rollout_gate.cli.verdict_env import environment
from rollout_gate.gate.files import load_gate_file
from rollout_gate.gate.producer import judge_measurements
from rollout_gate.gate.verdict import Verdict
from rollout_gate.phases import Phase


@pytest.mark.parametrize(
    ("p95", "samples", "expected"),
    [(180.0, 500, Verdict.GO), (820.0, 500, Verdict.NO_GO), (180.0, 5, Verdict.INCONCLUSIVE)],
)
def test_the_load_run_judges_its_own_measurements(
    gate_project: GateProject, tmp_path: Path, p95: float, samples: int, expected: Verdict
) -> None:
    load = load_measurements(tmp_path / "load.json", p95=p95, samples=samples)
    decision, run = judge_measurements([load_gate_file(load)], environment("staging", gate_project.envs), Phase.LOAD)
    assert decision.verdict == expected
    assert {c.id for c in decision.criteria} == {"load_p95", "load_error_rate_warn"}
    assert (run.environment, run.phases) == ("staging", ["load"])
