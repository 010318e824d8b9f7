"""No false alarms: the reference migration passes every data-integrity and isolation check."""

from __future__ import annotations

from pathlib import Path

from tests.defects.rehearse import rehearse_post_migration

OURS = (
    "zero_data_loss",
    "every_user_has_workspace",
    "every_organization_has_owner",
    "no_orphans",
    "migration_counts_reconcile",
    "personal_workspace_idempotent",
    "rls_coverage",
    "zero_cross_tenant_access",
    "rls_user_metadata",
    # Warn level: pass with nothing to review on the reference app.
    "rls_row_independent_policies",
    "rls_anon_policies",
    "rls_definer_functions",
    "rls_definer_search_path",
    "rls_tables_without_policies",
    "rls_public_policies",
    "tenant_key_indexed",
    "isolation_probe_coverage",
)


def test_clean_reference_migration_passes_every_check(tmp_path: Path) -> None:
    run = rehearse_post_migration(tmp_path / "reports", "integrity or isolation")
    assert run.returncode == 0, run.output
    assert run.verdict == "GO", run.output
    statuses = {c["id"]: c["status"] for c in run.gate["criteria"]}
    assert {c: statuses.get(c) for c in OURS} == dict.fromkeys(OURS, "pass"), run.output
    assert "(review, warn level)" not in run.output, run.output
    assert "skipped" not in run.output.splitlines()[-1], run.output
