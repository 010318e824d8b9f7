"""Runbook: "Test role-based permissions", in the database itself: in a Supabase stack clients reach the
tables directly, so the policies must hold every role to what `tenancy.roles` says it may do."""

from __future__ import annotations

from typing import Any

import pytest

from rollout_gate.gate import findings
from rollout_gate.isolation.results import LEAK, OK
from rollout_gate.isolation.roles import ESCALATION, INACTIVE, MANAGE, READ_ONLY, RoleMatrixRun
from rollout_gate.pytest.stash import session_key

# The matrix writes (always rolled back): never run where the environment forbids writes.
pytestmark = [pytest.mark.isolation, pytest.mark.destructive, pytest.mark.criterion("db_role_rules")]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "read_only_roles" in metafunc.fixturenames:
        rollout = metafunc.config.stash.get(session_key, None)
        roles = rollout.loaded.env.tenancy.roles if rollout is not None else None
        declared = [r for r in roles.names if not roles.may(r, "write")] if roles is not None else []
        marks: list[Any] = []
        if roles is not None and not declared:
            marks = [pytest.mark.not_applicable("every role of tenancy.roles may write tenant data")]
        metafunc.parametrize("read_only_roles", [pytest.param(declared, id="declared", marks=marks)])


def _judge(request: pytest.FixtureRequest, run: RoleMatrixRun, rule: str, what: str) -> None:
    cells = run.of(rule)
    failing = run.of(rule, LEAK)
    unproven = [r for r in cells if r.status != OK]
    # The gate files name the tables, policies and actors of the failing (else the unproven) cells.
    findings.record(request, findings.probe_findings(failing or unproven))
    if failing:
        pytest.fail(f"{len(failing)} {what}:\n" + "\n".join(str(r) for r in failing), pytrace=False)
    if not cells or unproven:
        shown = "; ".join(str(r) for r in unproven[:5]) or "no cell ran"
        pytest.skip(f"inconclusive: {len(unproven)} of {len(cells)} cell(s) proved nothing ({shown})")
    print(f"{run.summary()}\n" + "\n".join(str(r) for r in cells))


def test_read_only_roles_cannot_write_tenant_data(
    request: pytest.FixtureRequest, rollout_role_matrix: RoleMatrixRun, read_only_roles: list[str]
) -> None:
    _judge(request, rollout_role_matrix, READ_ONLY, f"write(s) by roles without `write` ({', '.join(read_only_roles)})")


def test_only_managers_manage_memberships_and_invitations(
    request: pytest.FixtureRequest, rollout_role_matrix: RoleMatrixRun
) -> None:
    _judge(request, rollout_role_matrix, MANAGE, "membership/invitation change(s) by roles that may not manage them")


def test_nobody_raises_their_own_role_or_joins_a_tenant_uninvited(
    request: pytest.FixtureRequest, rollout_role_matrix: RoleMatrixRun
) -> None:
    _judge(request, rollout_role_matrix, ESCALATION, "escalation(s): a raised own role or a self-made membership")


def test_inactive_members_and_non_members_get_nothing(
    request: pytest.FixtureRequest, rollout_role_matrix: RoleMatrixRun
) -> None:
    _judge(request, rollout_role_matrix, INACTIVE, "access(es) by an inactive member or a non-member")
