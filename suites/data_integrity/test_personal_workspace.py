"""Runbook: "`ensurePersonalWorkspace` runs on first login": calling it again, or concurrently, changes nothing."""

from __future__ import annotations

import psycopg
import pytest

from rollout_gate.catalog import TenancyModel
from rollout_gate.integrity import workspace
from rollout_gate.pytest.session import RolloutSession

pytestmark = [pytest.mark.integrity, pytest.mark.criterion("personal_workspace_idempotent")]


@pytest.fixture
def workspace_function(rollout_admin_db: psycopg.Connection, rollout_tenancy: TenancyModel) -> str:
    """The target's personal-workspace function, checked to exist."""
    personal = rollout_tenancy.personal_workspace
    name = personal.function if personal is not None else None
    if not name:
        pytest.skip("inconclusive: tenancy.personal_workspace.function is not set")
    if not workspace.function_exists(rollout_admin_db, name):
        pytest.fail(f"tenancy.personal_workspace.function: {name} does not exist on the target", pytrace=False)
    return name


@pytest.mark.destructive
def test_calling_it_twice_leaves_exactly_one_workspace(
    workspace_function: str,
    rollout_admin_db: psycopg.Connection,
    rollout_tenancy: TenancyModel,
    rollout_session: RolloutSession,
) -> None:
    # Rolled back, but a rolled-back INSERT and function call still fire triggers and take locks: destructive.
    try:
        reports = workspace.sequential(rollout_admin_db, rollout_tenancy, rollout_session.run.prefix)
    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction) as exc:
        pytest.skip(f"inconclusive: the target's role cannot write even in a rolled-back transaction ({exc.sqlstate})")
    problems = [p for r in reports for p in r.problems]
    assert not problems, f"{workspace_function} is not idempotent:\n" + "\n".join(problems)


@pytest.mark.destructive
def test_concurrent_calls_leave_exactly_one_workspace(
    workspace_function: str, rollout_target_dsn: str, rollout_tenancy: TenancyModel, rollout_session: RolloutSession
) -> None:
    callers = rollout_tenancy.config.integrity.concurrent_calls
    target = rollout_session.loaded.env.target
    report = workspace.concurrent(
        rollout_target_dsn, rollout_tenancy, rollout_session.run.prefix, callers,
        timeouts=target.timeouts, connect_timeout=target.connect_timeout,
    )  # fmt: skip
    assert not report.problems, f"{workspace_function} under {callers} concurrent calls:\n" + "\n".join(report.problems)
