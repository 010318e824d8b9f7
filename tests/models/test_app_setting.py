"""app_setting: the application connects as its own role app_user and sets app.current_tenant per
transaction; integer ids; RLS forced; no anonymous role (`anon_role: null`: its probes are not applicable) and
no personal workspaces. Rehearsed as CI would (tests/models/rehearse.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.models import rehearse
from tests.models.rehearse import ModelTarget

MODEL = "app_setting"
DEFECTS = {
    # Caught by the unset-identity probe (the setting absent, never '').
    "fail_open_tenant_setting": None,
    # Caught by app_role_rls, naming the role (the probes' leaks are not blamed on the policies alone).
    "app_role_bypasses_rls": None,
    # Caught by rls_coverage (rls_not_forced, reading target.app_role) and app_role_rls.
    "owned_table_not_forced": None,
}

model_target = rehearse.model_fixture(MODEL)


def test_the_model_and_its_defect_catalogue_are_complete() -> None:
    rehearse.check_catalogue(MODEL, DEFECTS)


def test_v1_the_migration_and_every_defect_apply(model_target: ModelTarget) -> None:
    rehearse.check_sql(model_target)


def test_the_clean_migration_is_go(model_target: ModelTarget, tmp_path: Path) -> None:
    run = model_target.post_migration("clean", tmp_path / "reports")
    rehearse.assert_go(run)
    # `anon_role: null`: the anonymous probe is listed as not applicable (neither passed nor inconclusive).
    observed = {c["id"]: c["observed"] for c in run.gate["criteria"]}
    assert "1 more not applicable here (tenancy.impersonation.anon_role: null" in observed["zero_cross_tenant_access"]


@pytest.mark.parametrize("name", rehearse.defect_params(MODEL, DEFECTS))
def test_each_defect_fails_its_criterion(model_target: ModelTarget, name: str, tmp_path: Path) -> None:
    defect = rehearse.defect(MODEL, name)
    rehearse.assert_caught(model_target.post_migration(name, tmp_path / "reports", defect.path), defect)
