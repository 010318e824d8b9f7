"""The gate's part of the pytest plugin: criteria at configure, a collection ledger, the decision at the end.

`rollout_gate.pytest.plugin` calls `begin`, `configure`, `finish`, `terminal_summary` and
`unconfigure`; the `GateHooks` object registered here tracks collection and labels tests for Allure.

A rollout run publishes a "running" gate file (INCONCLUSIVE) before anything can fail, replaces it
with the verdict when it decides, and with an "aborted" one naming the error when it stops without
deciding (usage error, internal error). A run that is killed leaves "running": never an earlier GO.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field, replace
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
    DID_NOT_FINISH,
    GATE_JSON,
    GATE_MD,
    STATUS_ABORTED,
    STATUS_RUNNING,
    Redact,
    RunInfo,
    gate_payload,
    owner,
    publish,
    tests_executed,
    unfinished_decision,
)
from rollout_gate.gate.measurements import Measurement
from rollout_gate.gate.verdict import (
    NOTHING_EVALUATED,
    CriterionResult,
    Decision,
    Verdict,
    decide,
    nothing_evaluated,
)
from rollout_gate.pytest import markers, options
from rollout_gate.pytest.session import RolloutSession
from rollout_gate.pytest.stash import session_key
from rollout_gate.reporting import allure, text

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
    # The exit status pytest ends with (the verdict's, or pytest's own 2/3/4), for the verdict block.
    exit_status: int | None = None


@dataclass
class Published:
    """This controller's gate files in the report dir, so that a run which stops early says why."""

    report_dir: Path
    run: RunInfo
    redact: Redact = str
    finished: bool = False
    failure: str | None = None
    exit_status: int | None = None

    @property
    def run_id(self) -> str:
        assert self.run.run_id is not None
        return self.run.run_id


gate_key = pytest.StashKey[GateState]()
published_key = pytest.StashKey[Published]()


def begin(config: pytest.Config, run_id: str, report_dir: Path, *, explicit: bool) -> None:
    """Publish this run as running, before the environment is even loaded (controller, rollout runs only)."""
    if not explicit or hasattr(config, "workerinput") or options.is_info_run(config):
        return
    info = RunInfo(environment=None, environment_file=None, phase=None, run_id=run_id, target=None, started=time.time())
    published = config.stash[published_key] = Published(report_dir, info)
    _publish_unfinished(published, STATUS_RUNNING, DID_NOT_FINISH, claim=True)


def failed(config: pytest.Config, reason: str) -> None:
    """Why this run will stop without a verdict (written at unconfigure)."""
    published = config.stash.get(published_key, None)
    if published is not None and published.failure is None:
        published.failure = reason


def unconfigure(config: pytest.Config) -> None:
    """A run that published "running" and never decided: say so, and why, in its gate files."""
    published = config.stash.get(published_key, None)
    if published is None or published.finished:
        return
    why = published.failure or "pytest stopped before the gate decided"
    if published.failure is None and published.exit_status is not None:
        why += f" (exit {published.exit_status}: {text.exit_name(published.exit_status)})"
    _publish_unfinished(published, STATUS_ABORTED, f"{DID_NOT_FINISH}: {why}")
    published.finished = True


def _publish_unfinished(published: Published, status: str, reason: str, *, claim: bool = False) -> None:
    decision = unfinished_decision(reason)
    payload = gate_payload(decision, published.run, status=status)
    files = {GATE_JSON: json.dumps(payload, indent=2) + "\n", GATE_MD: text.markdown(decision, published.run)}
    publish(published.report_dir, published.run_id, files, published.redact, claim=claim)


def _run_info(rollout: RolloutSession, *, selection: bool = False) -> RunInfo:
    env = rollout.loaded.env
    return RunInfo(
        environment=env.name,
        environment_file=str(rollout.loaded.path),
        phase=rollout.phase.value if rollout.phase else None,
        phases=[p.value for p in rollout.enabled_phases],
        run_id=rollout.run.run_id,
        target=rollout.loaded.describe_target(),
        started=rollout.started,
        git_commit=git_commit(rollout.project_root),
        selection_given=selection,
    )


def _running(config: pytest.Config, rollout: RolloutSession, *, claim: bool = False) -> None:
    """(Re)publish the running file with what is known once the environment is loaded."""
    published = config.stash.get(published_key, None)
    if published is None:
        if hasattr(config, "workerinput") or options.is_info_run(config):
            return
        published = config.stash[published_key] = Published(rollout.report_dir, _run_info(rollout))
        claim = True
    else:
        published.run = _run_info(rollout)
    published.redact = rollout.loaded.redact
    _publish_unfinished(published, STATUS_RUNNING, DID_NOT_FINISH, claim=claim)


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
    if getattr(option, "lf", False):
        # --lf would skip whole files without a recorded failure: collect them so their feeders count as left out.
        config.pluginmanager.set_blocked("lfplugin-collskip")
    config.pluginmanager.register(GateHooks(state, rollout, config), "rollout_gate_gate")
    if published_key in config.stash:
        _running(config, rollout)


class GateHooks:
    def __init__(self, state: GateState, rollout: RolloutSession, config: pytest.Config) -> None:
        self.state = state
        self.rollout = rollout
        self.rollout_config = config

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> Any:
        # Every test a module or class holds, before node ids on the command line or --lf filter them out
        # (trylast: the innermost wrapper sees the result before --lf prunes it in place).
        report = yield
        if report.passed:
            for node in report.result:
                if isinstance(node, pytest.Item) and node.nodeid not in self.state.ledger.tests:
                    try:
                        self._record(node)
                    except pytest.UsageError:  # a bad phase marker: reported if the test is selected
                        continue
        return report

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> Any:
        # Before anything deselects: what exists, so "deselected" and "never collected" differ.
        known = self.state.ledger.tests
        for item in items:
            if item.nodeid not in known:  # most were recorded from their module's collect report
                self._record(item)
        yield

    def _record(self, item: pytest.Item) -> None:
        env = self.rollout.loaded.env
        phase, criteria, suites = markers.phase_of(item), markers.criteria_of(item), markers.suite_markers(item)
        if phase is None and not criteria:
            return
        excluded = markers.excluded_by_environment(item, env, set(self.rollout.enabled_phases))
        self.state.ledger.tests[item.nodeid] = CollectedTest(
            nodeid=item.nodeid,
            phase=phase.value if phase else None,
            criteria=criteria,
            suites=suites,
            deselected_by=BY_ENVIRONMENT if excluded is not None else BY_USER,
            excluded_why=excluded or "",
        )

    def pytest_internalerror(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        lines = excinfo.exconly().strip().splitlines()
        failed(self.rollout_config, f"internal error: {lines[-1] if lines else excinfo.typename}")

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        published = session.config.stash.get(published_key, None)
        if published is not None:
            published.exit_status = int(exitstatus)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self.rollout.rollout_items and published_key not in session.config.stash:
            _running(session.config, self.rollout, claim=True)  # no --env, but rollout tests: a rollout run
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
        nothing_verified=nothing_verified(results, counts),
    )
    published = config.stash.get(published_key, None)
    base = published.run if published is not None and published.run.environment else _run_info(rollout)
    run = replace(base, selection_given=state.ledger.selection_given)
    if session.exitstatus in _REPLACED:
        session.exitstatus = decision.exit_code
    state.decision, state.run, state.exit_status = decision, run, int(session.exitstatus)
    redact = rollout.loaded.redact
    payload = gate_payload(decision, run, measurements=measurements)
    md = text.markdown(decision, run, exit_code=state.exit_status)
    files = {GATE_JSON: json.dumps(payload, indent=2) + "\n", GATE_MD: md}
    # A run that published "running" replaces it; one that did not (no --env) takes the report dir over.
    state.gate_file = publish(rollout.report_dir, rollout.run.run_id, files, redact, claim=published is None)
    if published is not None:
        published.finished = True
    summary = os.environ.get(SUMMARY_VAR)
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(redact(md) + "\n")
    if state.allure_dir is not None:
        allure.write_decision(state.allure_dir, decision, run, redact)
    config.hook.pytest_rollout_verdict(config=config, decision=decision, gate_file=state.gate_file)


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
    for line in text.verdict_lines(decision, state.run, exit_code=state.exit_status):
        terminalreporter.write_line(redact(line))
    terminalreporter.write_line(f"gate file: {state.gate_file}")
    top = config.stash[session_key].report_dir / GATE_JSON
    if state.run is not None and owner(top) == state.run.run_id:
        terminalreporter.write_line(f"gate file: {top} (this run's copy)")
    else:
        terminalreporter.write_line(f"gate file: {top} belongs to a run that started later; this run's is above")


def nothing_verified(results: list[CriterionResult], counts: dict[str, int]) -> str | None:
    """Why a run is never GO for lack of evidence, whatever else passed; None when there is evidence."""
    if not tests_executed(counts):
        return "no test ran: nothing was verified"
    return NOTHING_EVALUATED if nothing_evaluated(results) else None


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
