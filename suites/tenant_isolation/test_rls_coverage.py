"""Runbook: "RLS enabled on all tables" / "RLS policies verified", read from the catalog."""

from __future__ import annotations

import psycopg
import pytest
from rollout_gate.fixtures.database import review

from rollout_gate.catalog import TenancyModel
from rollout_gate.config import Environment
from rollout_gate.gate import findings as gate
from rollout_gate.isolation.coverage import FAIL, Finding, tables_in_scope
from rollout_gate.isolation.lints import static_findings

pytestmark = pytest.mark.isolation


def _findings(
    request: pytest.FixtureRequest,
    rollout_tenancy: TenancyModel,
    conn: psycopg.Connection,
    *rules: str,
    app_role: str | None = None,
) -> list[Finding]:
    """The catalog findings of `rules`, recorded on the test for the gate files (what and where)."""
    found = [f for f in static_findings(rollout_tenancy, conn, app_role=app_role) if f.rule in rules]
    gate.record(request, [g for f in found for g in f.for_gate()])
    return found


@pytest.mark.criterion("rls_coverage")
def test_every_tenant_or_granted_table_has_row_level_security(
    request: pytest.FixtureRequest,
    rollout_tenancy: TenancyModel,
    rollout_admin_db: psycopg.Connection,
    rollout_env: Environment,
) -> None:
    scope = tables_in_scope(rollout_tenancy)
    print("in scope:\n" + "\n".join(f"{name}: {why}" for name, why in sorted(scope.items())))
    print(f"exempt (tenancy.global_tables): {', '.join(sorted(map(str, rollout_tenancy.global_tables))) or 'none'}")
    rules = ("rls_disabled", "rls_not_forced", "view_bypasses_rls")
    found = _findings(request, rollout_tenancy, rollout_admin_db, *rules, app_role=rollout_env.target.app_role)
    assert not found, "tables reachable without row level security:\n" + "\n".join(map(str, found))


@pytest.mark.criterion("rls_coverage")
def test_no_policy_or_function_lets_every_tenant_through(
    request: pytest.FixtureRequest, rollout_tenancy: TenancyModel, rollout_admin_db: psycopg.Connection
) -> None:
    found = _findings(request, rollout_tenancy, rollout_admin_db, "always_true_policy", "anon_definer_function")
    assert all(f.level == FAIL for f in found)
    assert not found, "policies and functions that skip the tenant check:\n" + "\n".join(map(str, found))


# Warn level: reported for review, never blocking (see rollout_gate/isolation/coverage.py).


@pytest.mark.criterion("rls_row_independent_policies")
def test_policies_on_tenant_tables_look_at_the_row(
    request: pytest.FixtureRequest, rollout_tenancy: TenancyModel, rollout_admin_db: psycopg.Connection
) -> None:
    found = _findings(request, rollout_tenancy, rollout_admin_db, "row_independent_policy")
    review(request, [str(f) for f in found], "policies that do not look at the row")


@pytest.mark.criterion("rls_anon_policies")
def test_no_policy_on_a_tenant_table_serves_the_anonymous_role(
    request: pytest.FixtureRequest, rollout_tenancy: TenancyModel, rollout_admin_db: psycopg.Connection
) -> None:
    found = _findings(request, rollout_tenancy, rollout_admin_db, "anon_policy")
    review(request, [str(f) for f in found], "policies on tenant tables for the anonymous role")


@pytest.mark.criterion("rls_definer_functions")
def test_security_definer_functions_reading_tenant_tables_are_reviewed(
    request: pytest.FixtureRequest, rollout_tenancy: TenancyModel, rollout_admin_db: psycopg.Connection
) -> None:
    found = _findings(request, rollout_tenancy, rollout_admin_db, "definer_function")
    review(request, [str(f) for f in found], "SECURITY DEFINER functions that read tenant tables")


@pytest.mark.criterion("tenant_key_indexed")
def test_every_tenant_key_leads_an_index(
    request: pytest.FixtureRequest, rollout_tenancy: TenancyModel, rollout_admin_db: psycopg.Connection
) -> None:
    found = _findings(request, rollout_tenancy, rollout_admin_db, "unindexed_tenant_key")
    review(request, [str(f) for f in found], "tenant keys without an index")
