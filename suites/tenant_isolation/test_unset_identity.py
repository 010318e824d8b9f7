"""Runbook: "Zero RLS violations (cross-org data leaks)": a caller without identity sees no tenant row."""

from __future__ import annotations

import psycopg
import pytest

from rollout_gate.catalog import TenancyModel
from rollout_gate.gate import findings
from rollout_gate.isolation.results import INCONCLUSIVE, LEAK, OK
from rollout_gate.isolation.unset_identity import probe_unset_identity

pytestmark = pytest.mark.isolation


@pytest.mark.criterion("zero_cross_tenant_access")
def test_member_role_without_identity_sees_no_tenant_row(
    request: pytest.FixtureRequest, rollout_tenancy: TenancyModel, rollout_admin_db: psycopg.Connection
) -> None:
    # rollout_admin_db is this test's own connection: nothing impersonated anyone on it yet, so the
    # identity settings can really be left absent (a session that set them once reads '' for good).
    results = probe_unset_identity(rollout_admin_db, rollout_tenancy)
    leaks = [r for r in results if r.status == LEAK]
    # Where: the tables and policies that let the caller without identity through (gate.json findings).
    findings.record(request, findings.probe_findings(leaks))
    assert not leaks, f"{len(leaks)} tenant table(s) visible without identity:\n" + "\n".join(map(str, leaks))
    # Shown, never hidden behind "ok": statements rejected by an error rather than by the policies' filter.
    rejected = [str(r) for r in results if r.status == OK and r.detail.startswith("rejected")]
    print("\n".join([f"{len(results)} probe(s)", *rejected]))
    if not any(r.status == OK for r in results):
        reasons = sorted({f"{r.table}: {r.detail}" for r in results if r.status == INCONCLUSIVE})
        pytest.skip(f"inconclusive: no probe without identity could show anything ({'; '.join(reasons[:5])})")
