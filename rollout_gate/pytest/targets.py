"""Choosing the target (the `pytest_rollout_make_target` hook) and using it from fixtures.

The local rehearsal and a remote environment are the two built-in implementations; a team's plugin
or conftest returns its own `Target` from the hook (firstresult) to verify something else.
"""

from __future__ import annotations

import psycopg
import pytest

from rollout_gate import db
from rollout_gate.db import BoundedConnection
from rollout_gate.integrity.baseline import capture_for
from rollout_gate.phases import Phase
from rollout_gate.pytest.options import is_info_run
from rollout_gate.pytest.session import EVERY_PHASE, RolloutSession
from rollout_gate.target import RemoteTarget, Target, TargetError


@pytest.hookimpl
def pytest_rollout_make_target(config: pytest.Config, session: RolloutSession) -> Target | None:
    """`kind: local`: the embedded rehearsal, which takes its own baseline right before migrating (as an
    operator would) and deploys the reference app (with its SMTP sink) once the migration is applied."""
    if not session.loaded.env.is_local:
        return None
    from rollout_gate.local.app_server import install
    from rollout_gate.local.target import LocalTarget

    target = LocalTarget(session.loaded, project_root=session.project_root, run=session.run)
    env = session.loaded.env
    target.hooks.before_migrate.append(lambda t: capture_for(env, t.database_url(), session.baseline_path))
    install(target, log_dir=session.report_dir / "logs")
    return target


def make_target(config: pytest.Config, session: RolloutSession) -> Target:
    """The hook's answer, or, when no implementation claims the environment, the deployed environment
    itself, only observed."""
    target: Target | None = config.hook.pytest_rollout_make_target(config=config, session=session)
    return target if target is not None else RemoteTarget(session.loaded)


def target_at(session: RolloutSession, phase: Phase | None) -> Target:
    """The target brought to `phase` (also for module-scoped fixtures); a failure is a harness error."""
    try:
        target = session.target()
        if phase is not None:
            target.advance_to(phase)
    except TargetError as exc:
        session.target_failed(str(exc))
        pytest.fail(session.loaded.redact(str(exc)), pytrace=False)
    return target


def connect_or_fail(
    session: RolloutSession, dsn: str, *, phase: Phase | None, readonly: bool = False
) -> BoundedConnection:
    """A bounded session on the target (rollout_gate.db), or the test fails with one line (no secrets).

    The first connection failure, or a server that stops answering mid-statement, opens the breaker
    for the phase: later database tests of that phase fail at once with that first error."""
    down = session.database_down(phase)
    if down:
        pytest.fail(f"{down} (earlier in this phase; not retried)", pytrace=False)
    env = session.loaded.env
    try:
        return db.connect(
            dsn,
            timeouts=env.target.timeouts,
            connect_timeout=env.target.connect_timeout,
            readonly=readonly,
            on_unresponsive=lambda message: session.database_failed(phase, message),
        )
    except psycopg.OperationalError as exc:
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        message = session.loaded.redact(f"cannot connect to the target database: {lines[-1]}")
    # Outside the except block: the failure is this one line, not a chain of tracebacks.
    session.database_failed(phase, message)
    pytest.fail(message, pytrace=False)


def database_role_header(config: pytest.Config, session: RolloutSession) -> list[str]:
    """`pytest_report_header` line: the role the harness logs in as (a superuser or BYPASSRLS login on a
    writes-forbidden target is flagged). A target that cannot be reached here opens the breaker."""
    env = session.loaded.env
    if env.is_local:
        return ["rollout-gate: database role postgres (superuser of the rehearsal's own embedded server)"]
    if env.target.database == "none":
        return ["rollout-gate: database none (target.database: none: its checks are not applicable)"]
    if is_info_run(config) or hasattr(config, "workerinput"):
        return []
    key = "target.admin_database_url" if env.target.admin_database_url else "target.database_url"
    try:
        dsn = session.target().database_url()
    except TargetError as exc:
        return [f"rollout-gate: database role not checked: {session.loaded.redact(str(exc))}"]
    try:
        with db.connect(dsn, timeouts=env.target.timeouts, connect_timeout=env.target.connect_timeout) as conn:
            power = db.role_power(conn, env.tenancy.schemas)
    except (psycopg.Error, TargetError) as exc:
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        message = session.loaded.redact(f"cannot connect to the target database: {lines[-1]}")
        session.database_failed(EVERY_PHASE, message)
        return [f"rollout-gate: database role not checked: {message}"]
    if power is None:
        return [f"rollout-gate: database role not checked: {key} names no role"]
    warning = (
        "" if env.safety.allow_writes or not power.findings(key) else " -- WARNING: more than a read-only run needs"
    )
    return [f"rollout-gate: database role {power.describe()} from {key}{warning}"]
