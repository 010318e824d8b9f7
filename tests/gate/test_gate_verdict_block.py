"""The verdict block: column headers, criteria in rollout order, and the exit code the process really ends with."""

from __future__ import annotations

import pytest
from gate_testing import GateProject
from test_gate_statuses import rollout_tests

from rollout_gate.criteria.resolve import default_specs
from rollout_gate.gate.verdict import CriterionResult, Decision, Status, Verdict
from rollout_gate.phases import Phase
from rollout_gate.reporting.text import rollout_order, verdict_lines


def block(lines: list[str]) -> list[str]:
    start = next(i for i, line in enumerate(lines) if "= rollout gate:" in line)
    return lines[start + 1 : next(i for i in range(start, len(lines)) if lines[i].startswith("verdict: ")) + 1]


def test_block_has_column_headers_and_lists_criteria_in_rollout_order(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(rollout_tests())
    result = gate_project.run("--env=staging")
    lines = block(result.outlines)
    assert lines[1].split() == ["STATUS", "ACTION", "CRITERION:", "OBSERVED", "/", "REASON"]
    ids = [line.split()[2].rstrip(":") for line in lines[2:-1]]
    # post-migration (file order), post-deploy, load (file order), then the load test's implicit criterion.
    assert ids == ["zero_data_loss", "zero_cross_tenant_access", "smoke", "load_p95", "load_error_rate_warn", "load"]


def test_rollout_order_is_phase_order_then_the_defaults_file_order() -> None:
    specs = default_specs()
    results = [
        CriterionResult(id=s.id, title=s.title, status=Status.PASS, action=s.action, phases=[p.value for p in s.phases])
        for s in sorted(specs, key=lambda s: s.id)  # alphabetical in, rollout order out
    ]
    ordered = rollout_order(results)
    first_phase = [min(Phase(p).order for p in c.phases) for c in ordered]
    assert first_phase == sorted(first_phase)
    position = {s.id: i for i, s in enumerate(specs)}
    for phase in set(first_phase):
        same = [position[c.id] for c, f in zip(ordered, first_phase, strict=True) if f == phase]
        assert same == sorted(same)


def test_printed_exit_code_is_the_process_exit_code_after_a_collection_error(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(rollout_tests(), test_broken="import pytest\ndef test_x(:\n")
    result = gate_project.run("--env=staging")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["verdict: NO_GO (exit 2: interrupted)"])
    assert "| Exit code | 2: interrupted |" in (gate_project.reports / "gate.md").read_text()


def test_printed_exit_code_is_the_process_exit_code_after_ctrl_c(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(
        rollout_tests(smoke="raise KeyboardInterrupt"),
    )
    result = gate_project.pytester.runpytest_subprocess("--env=staging")  # in-process, Ctrl-C would stop us too
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert gate_project.gate()["verdict"] == "NO_GO"
    result.stdout.fnmatch_lines(["verdict: NO_GO (exit 2: interrupted)"])


def test_exit_code_matching_the_verdict_is_printed_plainly() -> None:
    decision = Decision(verdict=Verdict.GO, criteria=[], reasons=[], warnings=[])
    assert verdict_lines(decision, exit_code=0)[-1] == "verdict: GO (exit 0)"
    assert verdict_lines(decision)[-1] == "verdict: GO (exit 0)"
    assert verdict_lines(decision, exit_code=3)[-1] == "verdict: GO (exit 3: internal error)"
