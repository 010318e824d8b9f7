"""The rollout-gate pytest plugin (entry point `pytest11: rollout_gate`).

It loads the environment, gives every test its rollout phase, selects and
orders tests by phase, refuses destructive tests where writes are forbidden,
and at the end turns the outcomes into the gate decision. Under xdist the
workers only run tests; the controller alone decides and writes.

The fixtures of the shipped checks register with it (below), before any conftest, so a team's
conftest can replace one by defining a fixture of the same name (`rollout_api`, `rollout_provisioner`...).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from rollout_gate.config import ConfigError, load_environment, resolve_path
from rollout_gate.gate.outcomes import CRITERIA_PROPERTY, PHASE_PROPERTY, SUITES_PROPERTY
from rollout_gate.pytest import (
    applicability,
    gate,
    hookspecs,
    invariants,
    markers,
    options,
    redaction,
    signals,
    targets,
)
from rollout_gate.pytest.session import RolloutSession
from rollout_gate.pytest.stash import phase_key, session_key
from rollout_gate.run import RunContext
from rollout_gate.target import TargetError

pytest_plugins = [
    "rollout_gate.fixtures.target",
    "rollout_gate.fixtures.database",
    "rollout_gate.fixtures.predeploy",
    "rollout_gate.fixtures.api",
    "rollout_gate.fixtures.mail",
    "rollout_gate.fixtures.tenants",
    "rollout_gate.fixtures.role_matrix",
    "rollout_gate.fixtures.browser",
    "rollout_gate.fixtures.load",
    "rollout_gate.fixtures.watch",
    "rollout_gate.fixtures.gate",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    options.addoptions(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    markers.register(config)
    env = options.resolve_env(config)
    root = config.rootpath
    envs_dir = root / str(config.getini("rollout_environments_dir"))
    if env.source == "default" and not (envs_dir / f"{env.value}.yaml").is_file():
        # Installed in a venv but this project has no environments: stay out of the way.
        return
    report_dir = options.report_dir(config)
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None:
        run = RunContext(workerinput["rollout_run_id"], workerinput["rollout_owner_pid"], workerinput["workerid"])
    else:
        run = RunContext.new()
    # Before anything can fail: the report dir says "running" (never an earlier run's GO) until the gate decides.
    gate.begin(config, run.run_id, report_dir, explicit=env.source != "default")
    try:
        _configure(config, env, run, report_dir, envs_dir)
    except pytest.UsageError as exc:
        gate.failed(config, f"usage error: {exc}")
        raise


def _configure(config: pytest.Config, env: options.Resolved, run: RunContext, report_dir: Path, envs_dir: Path) -> None:
    phase, phase_source = options.resolve_phase(config)
    root = config.rootpath
    try:
        loaded = load_environment(resolve_path(str(env.value), envs_dir))
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    if phase is not None and phase not in loaded.env.phases.enabled:
        raise pytest.UsageError(f"{loaded.path}: phases.enabled: phase {phase} is not enabled for this environment")
    baseline = config.getoption("rollout_baseline")
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    rollout = RolloutSession(
        loaded=loaded,
        env_source=env.source,
        phase=phase,
        phase_source=phase_source,
        run=run,
        report_dir=report_dir,
        baseline_path=Path(baseline).resolve() if baseline else report_dir / "baseline.json",
        project_root=root,
        make_target=lambda session: targets.make_target(config, session),
    )
    config.stash[session_key] = rollout
    signals.install(config)
    config.pluginmanager.register(targets, "rollout_gate_targets")
    # Not-applicable marks from what the environment file declares; the invariants.http criteria and tests.
    config.pluginmanager.register(applicability, "rollout_gate_applicability")
    config.pluginmanager.register(invariants, "rollout_gate_invariants")
    gate.configure(config, rollout)
    redaction.register(config, loaded.redact)
    if workerinput is None:
        config.pluginmanager.register(OutcomeRecorder(rollout), "rollout_gate_outcomes")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(XdistHooks(), "rollout_gate_xdist")


def pytest_report_header(config: pytest.Config) -> list[str]:
    rollout = config.stash.get(session_key, None)
    if rollout is None:
        return ["rollout-gate: inactive (no environment: pass --env NAME or set ROLLOUT_ENV)"]
    env = rollout.loaded.env
    phases = ", ".join(p.value for p in rollout.enabled_phases)
    return [
        f"rollout-gate: environment {env.name} (from {rollout.env_source}): {rollout.loaded.path}",
        f"rollout-gate: target {rollout.loaded.describe_target()}",
        f"rollout-gate: phases {phases} ({rollout.phase_source}); writes "
        f"{'allowed' if env.safety.allow_writes else 'forbidden'}; reports {rollout.report_dir}",
        *targets.database_role_header(config, rollout),
    ]


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    rollout = config.stash.get(session_key, None)
    if rollout is None:
        return
    env = rollout.loaded.env
    enabled = set(rollout.enabled_phases)
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        phase = markers.phase_of(item)
        suites = markers.suite_markers(item)
        criteria = markers.criteria_of(item)
        if phase is None and not criteria:
            keep.append(item)
            continue
        rollout.rollout_items += 1
        item.user_properties += [
            (PHASE_PROPERTY, phase.value if phase else None),
            (CRITERIA_PROPERTY, criteria),
            (SUITES_PROPERTY, suites),
        ]
        if phase is not None:
            item.stash[phase_key] = phase
        if markers.excluded_by_environment(item, env, enabled) is not None:
            dropped.append(item)  # the gate lists why (not applicable here); nothing of it runs
            continue
        keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    # Rollout order; tests without a phase first, everything else stable within its phase.
    keep.sort(key=lambda item: item.stash[phase_key].order if phase_key in item.stash else -1)
    items[:] = keep


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A target the harness cannot use (unreachable, failed migration) is one line, not a traceback wall,
    wherever it surfaces; the gate records it as a harness error."""
    outcome = yield
    excinfo = call.excinfo
    rollout = item.config.stash.get(session_key, None)
    if rollout is None or excinfo is None or not excinfo.errisinstance(TargetError):
        return
    message = rollout.loaded.redact(str(excinfo.value))
    rollout.target_failed(message)
    outcome.get_result().longrepr = message


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> Any:
    config = session.config
    rollout = config.stash.get(session_key, None)
    yield
    if rollout is None:
        return
    rollout.close_target()
    workeroutput: dict[str, Any] | None = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["rollout"] = {
            "rollout_items": rollout.rollout_items,
            "harness_errors": rollout.harness_errors,
            **gate.worker_output(config),
        }
        return
    if options.is_info_run(config):
        return
    if not rollout.is_rollout_run or session.exitstatus in (
        pytest.ExitCode.USAGE_ERROR,
        pytest.ExitCode.INTERNAL_ERROR,
    ):
        return
    # Decides, writes gate.json, gate.md and Allure results, and sets the exit status from the verdict.
    gate.finish(session, rollout)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    gate.terminal_summary(terminalreporter, config)


def pytest_unconfigure(config: pytest.Config) -> None:
    signals.uninstall(config)
    # A run that never decided (usage or internal error) replaces its "running" file with why it stopped.
    gate.unconfigure(config)
    rollout = config.stash.get(session_key, None)
    if rollout is None or hasattr(config, "workerinput") or not rollout.loaded.env.is_local:
        return
    # The controller owns the run's embedded server (workers only attach to it).
    from rollout_gate.local.cluster import EmbeddedCluster

    cluster = EmbeddedCluster(
        rollout.project_root / rollout.loaded.env.local.state_dir, rollout.run.run_id, os.getpid()
    )
    if cluster.dir.exists():
        cluster.stop()


class XdistHooks:
    """Registered only when pytest-xdist is active."""

    def pytest_configure_node(self, node: Any) -> None:
        rollout = node.config.stash[session_key]
        node.workerinput["rollout_run_id"] = rollout.run.run_id
        node.workerinput["rollout_owner_pid"] = rollout.run.owner_pid

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        rollout = node.config.stash[session_key]
        output = getattr(node, "workeroutput", {}).get("rollout", {})
        rollout.rollout_items += int(output.get("rollout_items", 0))
        for message in output.get("harness_errors", []):
            rollout.target_failed(message)
        gate.merge_worker_output(node.config, output)


class OutcomeRecorder:
    """Registered on the controller only: it also receives the reports of xdist workers."""

    def __init__(self, rollout: RolloutSession) -> None:
        self.rollout = rollout

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.rollout.outcomes.record(report)
