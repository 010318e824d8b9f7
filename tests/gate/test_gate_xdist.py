"""Under pytest-xdist the workers run tests and the controller alone decides (subprocess runs: xdist forks)."""

from __future__ import annotations

from gate_testing import GateProject
from test_gate_outputs import allure_results, labels
from test_gate_statuses import EXIT_GO, EXIT_NO_GO, rollout_tests


def test_workers_send_outcomes_and_measurements_and_the_controller_decides(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(rollout_tests())
    result = gate_project.pytester.runpytest_subprocess("--env=staging", "-n", "2")
    assert result.ret == EXIT_GO, result.stdout.str()
    result.stdout.fnmatch_lines(["*created: 2/2 workers*", "*= rollout gate: GO =*"])
    assert result.stdout.str().count("rollout gate: GO") == 1
    gate = gate_project.gate()
    assert gate["counts"] == {"passed": 4}
    assert set(gate_project.statuses().values()) == {"pass"}
    assert gate_project.criterion("load_p95")["observed"] == 180.0  # recorded on a worker
    results = allure_results(gate_project.reports / "allure-results")
    tests = [r for r in results if "go/no-go gate" not in labels(r, "feature")]
    assert sorted(r["name"] for r in tests) == [
        "test_health",
        "test_load_run",
        "test_no_cross_tenant_rows",
        "test_rows_unchanged",
    ]


def test_workers_ledgers_tell_deselected_from_never_collected(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(rollout_tests(isolation="assert False, 'leak'"))
    result = gate_project.pytester.runpytest_subprocess("--env=staging", "-n", "2", "-m", "smoke or isolation")
    assert result.ret == EXIT_NO_GO, result.stdout.str()
    loss = gate_project.criterion("zero_data_loss")
    assert (loss["required"], loss["status"]) == (False, "inconclusive")
    assert loss["reason"].endswith("all 1 test(s) deselected (-m/-k/test paths)")
    assert gate_project.criterion("zero_cross_tenant_access")["status"] == "fail"
