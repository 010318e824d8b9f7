"""Choosing the target (the `pytest_rollout_make_target` hook) and using it from fixtures.

The local rehearsal and a remote environment are the two built-in implementations; a team's plugin
or conftest returns its own `Target` from the hook (firstresult) to verify something else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from rollout_gate.integrity.baseline import capture_for
from rollout_gate.phases import Phase
from rollout_gate.pytest.session import RolloutSession
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


def connect_or_fail(session: RolloutSession, connect: Callable[[], psycopg.Connection[Any]]) -> psycopg.Connection[Any]:
    """Open a target connection, or fail the test with one line (no secrets) that the gate also records."""
    try:
        return connect()
    except psycopg.OperationalError as exc:
        message = session.loaded.redact(f"cannot connect to the target database: {str(exc).strip().splitlines()[-1]}")
        session.target_failed(message)
        pytest.fail(message, pytrace=False)
