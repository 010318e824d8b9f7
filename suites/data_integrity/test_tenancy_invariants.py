"""Runbook: "Every user has a workspace", "No orphaned data records", and the migration success indicators."""

from __future__ import annotations

import psycopg
import pytest

from rollout_gate.catalog import TenancyModel
from rollout_gate.integrity import invariants

pytestmark = pytest.mark.integrity


def _report(found: list[invariants.Violation]) -> str:
    return "\n".join(map(str, found))


@pytest.mark.criterion("every_user_has_workspace")
def test_every_user_has_an_active_membership(
    rollout_admin_db: psycopg.Connection, rollout_tenancy: TenancyModel
) -> None:
    found = invariants.users_without_active_membership(
        rollout_admin_db, rollout_tenancy, rollout_tenancy.config.integrity.report_keys
    )
    assert not found, _report(found)


@pytest.mark.criterion("every_user_has_workspace")
def test_every_user_has_exactly_one_personal_workspace(
    rollout_admin_db: psycopg.Connection, rollout_tenancy: TenancyModel
) -> None:
    personal = rollout_tenancy.personal_workspace
    if personal is None or not personal.owner_column:
        pytest.skip("tenancy.personal_workspace.owner_column is not set: personal workspaces cannot be told apart")
    found = invariants.personal_workspace_problems(
        rollout_admin_db, rollout_tenancy, rollout_tenancy.config.integrity.report_keys
    )
    assert not found, _report(found)


@pytest.mark.criterion("every_organization_has_owner")
def test_every_organization_has_an_owner(rollout_admin_db: psycopg.Connection, rollout_tenancy: TenancyModel) -> None:
    found = invariants.tenants_without_owner(
        rollout_admin_db, rollout_tenancy, rollout_tenancy.config.integrity.report_keys
    )
    assert not found, _report(found)


@pytest.mark.criterion("no_orphans")
def test_no_tenant_row_lacks_a_valid_tenant(
    rollout_admin_db: psycopg.Connection, rollout_tenancy: TenancyModel
) -> None:
    found = invariants.tenant_key_problems(
        rollout_admin_db, rollout_tenancy, rollout_tenancy.config.integrity.report_keys
    )
    assert not found, _report(found)


@pytest.mark.criterion("no_orphans")
def test_no_orphans_along_foreign_keys(rollout_admin_db: psycopg.Connection, rollout_tenancy: TenancyModel) -> None:
    if not rollout_tenancy.foreign_keys_in_scope():
        pytest.skip("inconclusive: no foreign key in scope")
    found = invariants.orphans(rollout_admin_db, rollout_tenancy, rollout_tenancy.config.integrity.report_keys)
    assert not found, _report(found)


@pytest.mark.criterion("no_orphans")
def test_children_belong_to_their_parents_tenant(
    rollout_admin_db: psycopg.Connection, rollout_tenancy: TenancyModel
) -> None:
    if not rollout_tenancy.tenant_foreign_keys():
        pytest.skip("inconclusive: no foreign key between two tenant tables")
    found = invariants.cross_tenant_children(
        rollout_admin_db, rollout_tenancy, rollout_tenancy.config.integrity.report_keys
    )
    assert not found, _report(found)


@pytest.mark.criterion("migration_counts_reconcile")
def test_runbook_counts_reconcile(rollout_admin_db: psycopg.Connection, rollout_tenancy: TenancyModel) -> None:
    found = invariants.counts(rollout_admin_db, rollout_tenancy)
    print(f"counts: {found}")
    problems = invariants.count_mismatches(found, rollout_tenancy)
    assert not problems, f"{found}:\n" + "\n".join(problems)
