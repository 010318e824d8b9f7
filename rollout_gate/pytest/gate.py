"""The gate's part of the pytest plugin: criteria at configure, a collection ledger, the decision at the end.

`rollout_gate.pytest.plugin` calls `configure`, `finish` and `terminal_summary`; the
`GateHooks` object registered here tracks collection and labels tests for Allure.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from rollout_gate.config import ConfigError
from rollout_gate.criteria.models import CriterionSpec
from rollout_gate.criteria.resolve import CriteriaSet, base_specs, resolve
from rollout_gate.gate.collection import BY_ENVIRONMENT, BY_USER, CollectedTest, Ledger
from rollout_gate.gate.evaluate import RunScope, evaluate
from rollout_gate.gate.files import (
    RunInfo,
    gate_payload,
    tests_executed,
    write_gate_json,
    write_text,
)
from rollout_gate.gate.measurements import Measurement
from rollout_gate.gate.verdict import Decision, Verdict, decide
from rollout_gate.pytest import markers, options
from rollout_gate.pytest.session import RolloutSession
from rollout_gate.pytest.stash import session_key
from rollout_gate.reporting import allure, text

GATE_JSON = "gate.json"
GATE_MD = "gate.md"
ALLURE_RESULTS = "allure-results"
SUMMARY_VAR = "GITHUB_STEP_SUMMARY"
# pytest's own exit codes that the verdict replaces; 2 (interrupted), 3 (internal), 4 (usage) stay.
_REPLACED = (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.NO_TESTS_COLLECTED)


@dataclass
class GateState:
    criteria: CriteriaSet
    ledger: Ledger = field(default_factory=Ledger)
    # Measurements recorded in this process outside a test report (plugins on the controller).
    measurements: list[Measurement] = field(default_factory=list)
    allure_dir: Path | None = None
    decision: Decision | None = None
    run: RunInfo | None = None
    gate_file: Path | None = None


gate_key = pytest.StashKey[GateState]()


def configure(config: pytest.Config, rollout: RolloutSession) -> None:
    """Resolve the criteria, register the gate's hooks and fixtures, point Allure at the report dir."""
    env = rollout.loaded.env
    try:
        extra = [
            spec if isinstance(spec, CriterionSpec) else CriterionSpec.model_validate(spec)
            for specs in config.hook.pytest_rollout_criteria(config=config, environment=env)
            for spec in specs or []
        ]
        specs = base_specs(env.criteria, rollout.loaded.path)
        criteria = resolve(specs, env.criteria, env.thresholds, where=str(rollout.loaded.path), extra=extra)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    except ValidationError as exc:
        raise pytest.UsageError(f"pytest_rollout_criteria: {exc.errors()[0]['msg']}") from None
    state = GateState(criteria=criteria)
    config.stash[gate_key] = state
    option = config.option
    if hasattr(option, "allure_report_dir"):  # allure-pytest is installed
        if option.allure_report_dir is None and rollout.explicit and not options.is_info_run(config):
            # A rollout run writes Allure results by default; self-test runs (no --env) do not.
            option.allure_report_dir = str(rollout.report_dir / ALLURE_RESULTS)
            if not hasattr(config, "workerinput"):
                allure.prepare_results_dir(Path(option.allure_report_dir))
        if option.allure_report_dir:
            state.allure_dir = Path(option.allure_report_dir).resolve()
    config.pluginmanager.register(GateHooks(state, rollout), "rollout_gate_gate")


class GateHooks:
    def __init__(self, state: GateState, rollout: RolloutSession) -> None:
        self.state = state
        self.rollout = rollout

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> Any:
        # Before anything deselects: what exists, so "deselected" and "never collected" differ.
        env = self.rollout.loaded.env
        enabled = set(self.rollout.enabled_phases)
        for item in items:
            phase, criteria, suites = markers.phase_of(item), markers.criteria_of(item), markers.suite_markers(item)
            if phase is None and not criteria:
                continue
            by_env = (phase is not None and phase not in enabled) or any(not getattr(env.suites, s) for s in suites)
            self.state.ledger.tests[item.nodeid] = CollectedTest(
                nodeid=item.nodeid,
                phase=phase.value if phase else None,
                criteria=criteria,
                suites=suites,
                deselected_by=BY_ENVIRONMENT if by_env else BY_USER,
            )
        yield

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        selected = {item.nodeid for item in session.items}
        for test in self.state.ledger.tests.values():
            test.selected = test.nodeid in selected
            if test.selected:
                test.deselected_by = None
        if self.state.allure_dir is None:
            return
        env_name = self.rollout.loaded.env.name
        for item in session.items:
            known = self.state.ledger.tests.get(item.nodeid)
            if known is None:
                continue
            fed, implicit = self.state.criteria.feeding(known.criteria, known.suites)
            stories = [c.id for c in fed] + implicit
            allure.label_item(item, phase=known.phase, suites=known.suites, stories=stories, env=env_name)


def worker_output(config: pytest.Config) -> dict[str, Any]:
    state = config.stash.get(gate_key, None)
    return {"ledger": state.ledger.to_json()} if state else {}


def merge_worker_output(config: pytest.Config, output: dict[str, Any]) -> None:
    state = config.stash.get(gate_key, None)
    if state is not None:
        state.ledger.merge(output.get("ledger", []))


def finish(session: pytest.Session, rollout: RolloutSession) -> None:
    """Decide, write gate.json / gate.md / Allure results, and set the exit status (controller only)."""
    config = session.config
    state = config.stash[gate_key]
    env = rollout.loaded.env
    state.ledger.selection_given = selection_given(config)
    measurements = [*rollout.outcomes.measurements, *state.measurements]
    for produced in config.hook.pytest_rollout_measurements(config=config):
        measurements += list(produced or [])
    scope = RunScope(
        environment=env.name,
        phases=tuple(rollout.enabled_phases),
        selection_given=state.ledger.selection_given,
        disabled_suites=frozenset(name for name, on in env.suites.model_dump().items() if not on),
    )
    results = evaluate(
        state.criteria, scope, ledger=state.ledger, results=rollout.outcomes.results, measurements=measurements
    )
    counts: dict[str, int] = {}
    for r in rollout.outcomes.results.values():
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    harness = list(rollout.harness_errors)
    if session.exitstatus == pytest.ExitCode.INTERRUPTED:
        harness.append("the run was interrupted (collection errors or Ctrl-C): not every test ran")
    decision = decide(
        results,
        harness_errors=harness,
        counts=counts,
        nothing_verified=None if tests_executed(counts) else "no test ran: nothing was verified",
    )
    run = RunInfo(
        environment=env.name,
        environment_file=str(rollout.loaded.path),
        phase=rollout.phase.value if rollout.phase else None,
        phases=[p.value for p in rollout.enabled_phases],
        run_id=rollout.run.run_id,
        target=rollout.loaded.describe_target(),
        started=rollout.started,
        git_commit=git_commit(rollout.project_root),
        selection_given=state.ledger.selection_given,
    )
    state.decision, state.run = decision, run
    redact = rollout.loaded.redact
    payload = gate_payload(decision, run, measurements=measurements)
    state.gate_file = write_gate_json(rollout.report_dir / GATE_JSON, payload, redact)
    md = text.markdown(decision, run)
    write_text(rollout.report_dir / GATE_MD, md, redact)
    summary = os.environ.get(SUMMARY_VAR)
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(redact(md) + "\n")
    if state.allure_dir is not None:
        allure.write_decision(state.allure_dir, decision, run, redact)
    config.hook.pytest_rollout_verdict(config=config, decision=decision, gate_file=state.gate_file)
    if session.exitstatus in _REPLACED:
        session.exitstatus = decision.exit_code


def terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(gate_key, None)
    if state is None or state.decision is None:
        return
    decision = state.decision
    markup = {"green": True} if decision.verdict == Verdict.GO else {"red": True}
    if decision.verdict == Verdict.INCONCLUSIVE:
        markup = {"yellow": True}
    terminalreporter.write_sep("=", f"rollout gate: {decision.verdict.value}", bold=True, **markup)
    redact = config.stash[session_key].loaded.redact
    for line in text.verdict_lines(decision, state.run):
        terminalreporter.write_line(redact(line))
    terminalreporter.write_line(f"gate file: {state.gate_file}")


def git_commit(root: Path) -> str | None:
    """The commit under test: $GITHUB_SHA in Actions, else `git rev-parse HEAD`; None outside a repository."""
    if os.environ.get("GITHUB_SHA"):
        return os.environ["GITHUB_SHA"]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def selection_given(config: pytest.Config) -> bool:
    """True when the user asked for a subset of the tests, which makes unselected criteria not required."""
    option = config.option
    if getattr(option, "markexpr", "") or getattr(option, "keyword", "") or getattr(option, "deselect", None):
        return True
    if getattr(option, "lf", False):
        return True
    return config.args_source == pytest.Config.ArgsSource.ARGS
