"""The gate's hooks: plugins add criteria, feed measurements, and observe the verdict."""

from __future__ import annotations

from gate_testing import GateProject
from test_gate_statuses import EXIT_GO, EXIT_ROLLBACK, rollout_tests

HOOKS = """
import json
from rollout_gate.gate.measurements import Measurement

def pytest_rollout_criteria(config, environment):
    return [{
        "id": "invitations_single_use",
        "title": "An invitation link works once",
        "phases": ["post-deploy"],
        "feeds": {"measurement": "invites.reused", "suites": ["smoke"]},
        "threshold": "== 0",
        "action": "rollback",
    }]

def pytest_rollout_measurements(config):
    return [Measurement("invites.reused", REUSED, samples=40, source="invite-prober")]

def pytest_rollout_verdict(config, decision, gate_file):
    gate = json.loads(gate_file.read_text())
    seen = config.rootpath / "verdict-seen.txt"
    seen.write_text(f"observed verdict {decision.verdict.value} in {gate_file.name}: {gate['verdict']}")
"""


def test_plugins_add_criteria_feed_measurements_and_observe_the_verdict(gate_project: GateProject) -> None:
    gate_project.pytester.makeconftest(HOOKS.replace("REUSED", "0"))
    gate_project.pytester.makepyfile(rollout_tests())
    assert gate_project.run("--env=staging").ret == EXIT_GO
    seen = (gate_project.pytester.path / "verdict-seen.txt").read_text()
    assert seen == "observed verdict GO in gate.json: GO"
    c = gate_project.criterion("invitations_single_use")
    assert (c["status"], c["observed"], c["samples"]) == ("pass", 0, 40)

    gate_project.pytester.makeconftest(HOOKS.replace("REUSED", "2"))
    assert gate_project.run("--env=staging").ret == EXIT_ROLLBACK  # its action is rollback


def test_a_broken_criterion_from_a_hook_is_a_usage_error(gate_project: GateProject) -> None:
    gate_project.pytester.makeconftest(
        "def pytest_rollout_criteria(config, environment):\n    return [{'id': 'x', 'title': 'x', 'phases': []}]\n"
    )
    gate_project.pytester.makepyfile(rollout_tests())
    result = gate_project.run("--env=staging")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["ERROR: pytest_rollout_criteria: *"])
