"""Runbook: "RLS policies verified": the lints of Supabase's database linter that matter to tenant isolation.

What each lint finds, its level and why: rollout_gate/isolation/lints.py.
"""

from __future__ import annotations

import pytest
from rollout_gate.fixtures.database import review

from rollout_gate.catalog import TenancyModel
from rollout_gate.gate import findings as gate
from rollout_gate.isolation.coverage import Finding
from rollout_gate.isolation.lints import lint_findings

pytestmark = pytest.mark.isolation


def _lints(request: pytest.FixtureRequest, rollout_tenancy: TenancyModel, rule: str) -> list[Finding]:
    found = [f for f in lint_findings(rollout_tenancy) if f.rule == rule]
    gate.record(request, [g for f in found for g in f.for_gate()])
    return found


@pytest.mark.criterion("rls_user_metadata")
def test_no_policy_trusts_metadata_users_edit_themselves(
    request: pytest.FixtureRequest, rollout_tenancy: TenancyModel
) -> None:
    found = _lints(request, rollout_tenancy, "user_metadata_policy")
    assert not found, "policies that trust user-editable metadata:\n" + "\n".join(map(str, found))


# Warn level: reported for review, never blocking.


@pytest.mark.criterion("rls_definer_search_path")
def test_definer_functions_callable_through_the_api_fix_their_search_path(
    request: pytest.FixtureRequest, rollout_tenancy: TenancyModel
) -> None:
    found = _lints(request, rollout_tenancy, "definer_search_path")
    review(request, [str(f) for f in found], "SECURITY DEFINER functions without a fixed search_path")


@pytest.mark.criterion("rls_tables_without_policies")
def test_tables_the_api_may_reach_with_rls_on_have_a_policy(
    request: pytest.FixtureRequest, rollout_tenancy: TenancyModel
) -> None:
    found = _lints(request, rollout_tenancy, "rls_enabled_no_policy")
    review(request, [str(f) for f in found], "tables with RLS enabled and no policy, granted to API roles")


@pytest.mark.criterion("rls_public_policies")
def test_policies_on_tenant_tables_name_their_roles(
    request: pytest.FixtureRequest, rollout_tenancy: TenancyModel
) -> None:
    found = _lints(request, rollout_tenancy, "public_policy")
    review(request, [str(f) for f in found], "policies for PUBLIC on tenant tables the anonymous role can reach")
