"""Runbook: "Zero RLS violations (cross-org data leaks)", shown by acting as members of several tenants."""

from __future__ import annotations

import psycopg
import pytest
from rollout_gate.fixtures.database import review

from rollout_gate.catalog import TenancyModel
from rollout_gate.gate import findings
from rollout_gate.isolation.coverage import populated_tables
from rollout_gate.isolation.results import ANON_OPS, BLIND_OPS, READ_OPS, SPOOF_OPS, WRITE_OPS, ProbeRun

pytestmark = pytest.mark.isolation


def _judge(request: pytest.FixtureRequest, run: ProbeRun, ops: tuple[str, ...]) -> None:
    """Leaks fail; without a member read reaching its control, or with a (table, operation) no probe
    proved, the criterion is inconclusive (a skip), never a pass."""
    verdict = run.verdict(ops)
    # Where: the tables, policies, actors and row keys of the leaks (or of the probes that showed nothing).
    findings.record(request, findings.probe_findings(verdict.leaks or ([] if verdict.passed else verdict.inconclusive)))
    assert not verdict.leaks, verdict.leak_report()
    no_control = run.why_no_read_control()
    if no_control:
        pytest.skip(no_control)
    if not verdict.passed or verdict.gaps:
        pytest.skip(verdict.why_inconclusive())
    print(f"{run.summary()}\n{verdict.summary()}")


@pytest.mark.criterion("zero_cross_tenant_access")
def test_members_see_no_row_of_another_tenant(request: pytest.FixtureRequest, rollout_probe_run: ProbeRun) -> None:
    _judge(request, rollout_probe_run, READ_OPS)


@pytest.mark.destructive
@pytest.mark.criterion("zero_cross_tenant_access")
def test_members_cannot_change_insert_or_move_rows_across_tenants(
    request: pytest.FixtureRequest, rollout_probe_run: ProbeRun
) -> None:
    _judge(request, rollout_probe_run, WRITE_OPS)


@pytest.mark.criterion("zero_cross_tenant_access")
def test_update_and_delete_policies_keep_unfiltered_statements_in_the_tenant(
    request: pytest.FixtureRequest, rollout_probe_run: ProbeRun
) -> None:
    # Replays the policies on copies of the rows: nothing is written, so this runs where writes are forbidden.
    _judge(request, rollout_probe_run, BLIND_OPS)


@pytest.mark.destructive
@pytest.mark.criterion("zero_cross_tenant_access")
def test_members_cannot_attribute_rows_to_another_user(
    request: pytest.FixtureRequest, rollout_probe_run: ProbeRun
) -> None:
    _judge(request, rollout_probe_run, SPOOF_OPS)


@pytest.mark.criterion("zero_cross_tenant_access")
def test_anonymous_role_reaches_no_tenant_row(
    request: pytest.FixtureRequest, rollout_probe_run: ProbeRun, rollout_tenancy: TenancyModel
) -> None:
    # `anon_role: null` in the environment file: not applicable (conftest.py), this test does not run.
    if rollout_tenancy.anon_role is None:
        named = rollout_tenancy.config.impersonation.anon_role
        pytest.skip(f"inconclusive: tenancy.impersonation.anon_role names {named}, a role the database does not have")
    _judge(request, rollout_probe_run, ANON_OPS)


@pytest.mark.criterion("isolation_probe_coverage")
def test_every_populated_tenant_table_was_probed(
    request: pytest.FixtureRequest,
    rollout_probe_run: ProbeRun,
    rollout_tenancy: TenancyModel,
    rollout_admin_db: psycopg.Connection,
) -> None:
    findings = rollout_probe_run.coverage_gaps(populated_tables(rollout_admin_db, rollout_tenancy), rollout_tenancy)
    review(request, findings, "tenant tables with rows that no probe could cover")
