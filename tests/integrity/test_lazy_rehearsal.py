"""The reference app migrated lazily (workspace at first sign-in), rehearsed as CI would.

tests/defects/lazy_migration is the reference set with a 0002 that adds the tenant keys and
ensure_personal_workspace without a backfill, half the users signing in after the deploy (their workspace
made), and a 0003 that keeps the keys nullable; tests/defects/lazy_migration.yaml declares
`tenancy.migration.mode: lazy`. Declared so, it is GO: the rows of users yet to sign in keep a NULL key and
are theirs. Judged as an eager migration, the same database fails: the GO is the declaration's doing, not a
set with nothing left to migrate. A signed-in user without a workspace, and rows of a user yet to sign in
moved into another's tenant, fail the criteria meant for them, naming the table.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.defects.catalogue import DEFECTS_DIR
from tests.defects.rehearse import _failure_text
from tests.rehearsal import ROOT, SMALL_SCALE, Rehearsal

LAZY_ENV = DEFECTS_DIR / "lazy_migration.yaml"
MARKERS = "integrity or isolation"
MEMBERSHIP = "test_every_user_has_an_active_membership"
PERSONAL = "test_every_user_has_exactly_one_personal_workspace"
TENANT_KEY = "test_no_tenant_row_lacks_a_valid_tenant"
COUNTS = "test_runbook_counts_reconcile"


def rehearse_env(env: str, report_dir: Path, migrations: Path | None = None) -> Rehearsal:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLOUT_", "PYTEST_"))}
    environ.update(SMALL_SCALE)
    if migrations is not None:
        environ["ROLLOUT_MIGRATIONS_DIR"] = str(migrations)
    argv = [
        sys.executable, "-m", "pytest", f"--env={env}", f"--report-dir={report_dir}", "-p", "no:cacheprovider",
        "--phase=post-migration", "-m", MARKERS, "-q", "-rfE",
    ]  # fmt: skip
    proc = subprocess.run(argv, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=600, check=False)
    return Rehearsal(proc.returncode, proc.stdout + proc.stderr, report_dir)


def failed_tests(run: Rehearsal) -> list[str]:
    return [line for line in run.output.splitlines() if line.startswith(("FAILED ", "ERROR "))]


def test_lazy_reference_is_go_with_the_unmigrated_rows_theirs(tmp_path: Path) -> None:
    run = rehearse_env(str(LAZY_ENV), tmp_path / "reports")
    assert "Traceback" not in run.output, run.output
    assert run.returncode == 0 and run.verdict == "GO", run.output
    for criterion in ("zero_data_loss", "every_user_has_workspace", "migration_counts_reconcile", "no_orphans"):
        assert run.criterion(criterion)["status"] == "pass", (criterion, run.criterion(criterion), run.output)
    # No false alarm anywhere: every criterion passed (isolation probes included), none is a warning.
    assert not failed_tests(run), run.output
    judged = [c for c in run.gate["criteria"] if not str(c.get("reason") or "").startswith("not applicable")]
    assert all(c["status"] == "pass" for c in judged), run.gate["criteria"]
    assert {"zero_cross_tenant_access", "isolation_probe_coverage"} <= {c["id"] for c in run.gate["criteria"]}
    assert not run.gate["warnings"], run.gate["warnings"]


def test_the_same_set_judged_eager_has_users_and_rows_left_to_migrate(tmp_path: Path) -> None:
    # environments/local.yaml is the same tenancy block without `migration`: an eager migration.
    run = rehearse_env("local", tmp_path / "reports", DEFECTS_DIR / "lazy_migration")
    assert "Traceback" not in run.output, run.output
    assert run.returncode != 0 and run.verdict == "NO_GO", run.output
    assert run.criterion("every_user_has_workspace")["status"] == "fail", run.output
    assert run.criterion("no_orphans")["status"] == "fail", run.output
    assert run.criterion("migration_counts_reconcile")["status"] == "fail", run.output
    # 40 users (SMALL_SCALE), 20 of them signed in after the deploy: 20 left without a workspace.
    assert "auth.users: 20 users without an active membership" in _failure_text(run.output, MEMBERSHIP)
    assert "public.clients: " in _failure_text(run.output, TENANT_KEY)
    assert "rows with NULL organization_id" in _failure_text(run.output, TENANT_KEY)
    assert run.criterion("zero_data_loss")["status"] == "pass", run.output


def test_a_signed_in_user_without_a_workspace_is_no_go(tmp_path: Path) -> None:
    run = rehearse_env(str(LAZY_ENV), tmp_path / "reports", DEFECTS_DIR / "lazy_migration_lost_workspace")
    assert "Traceback" not in run.output, run.output
    assert run.returncode != 0 and run.verdict == "NO_GO", run.output
    failed = failed_tests(run)
    expected = {
        ("every_user_has_workspace", MEMBERSHIP): "auth.users: 1 users signed in since the deploy without an active",
        ("every_user_has_workspace", PERSONAL): "auth.users: 1 users signed in since the deploy without a personal",
        ("migration_counts_reconcile", COUNTS): "!= users signed in since the deploy (21): 1 missing",
        # Their rows were never moved: no longer awaiting a sign-in, they are in no tenant.
        ("no_orphans", TENANT_KEY): "rows with NULL organization_id not awaiting their user's first sign-in",
    }
    for (criterion, test), needle in expected.items():
        assert run.criterion(criterion)["status"] == "fail", (criterion, run.output)
        assert [line for line in failed if f"::{test}" in line], f"{test} did not fail:\n{run.output}"
        assert needle in _failure_text(run.output, test), (test, needle, run.output)
    # Caught by the checks meant for it only: the data is intact and the policies hold.
    for criterion in ("zero_data_loss", "zero_cross_tenant_access"):
        assert run.criterion(criterion)["status"] == "pass", (criterion, run.output)


def test_rows_of_a_user_yet_to_sign_in_moved_into_another_tenant_are_no_go(tmp_path: Path) -> None:
    run = rehearse_env(str(LAZY_ENV), tmp_path / "reports", DEFECTS_DIR / "lazy_migration_taken_rows")
    assert "Traceback" not in run.output, run.output
    assert run.returncode != 0 and run.verdict == "NO_GO", run.output
    assert run.criterion("no_orphans")["status"] == "fail", run.output
    assert [line for line in failed_tests(run) if f"::{TENANT_KEY}" in line], run.output
    failure = _failure_text(run.output, TENANT_KEY)
    what = "rows awaiting their user's first sign-in (by user_id) in a tenant that user is no active member of"
    assert "public.clients: " in failure and what in failure, failure
    # Only public.clients was touched: its key is the one named, the other tables' pending rows are fine.
    assert "public.projects: " not in failure and "public.time_entries: " not in failure, failure
    for criterion in ("zero_data_loss", "every_user_has_workspace", "migration_counts_reconcile"):
        assert run.criterion(criterion)["status"] == "pass", (criterion, run.output)
