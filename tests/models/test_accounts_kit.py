"""accounts_kit: personal/team accounts, an enum role, user-tracking triggers, a slug CHECK tied to the
personal flag, invitations (empty right after the migration). Rehearsed as CI would (tests/models/rehearse.py).

Every harness run needs the environment file's keys from other branches (target.app_role, a personal
workspace `predicate`, `roles`/`invitations`, the status column discovered): until they land the runs stop
at a usage error, and the xfails below say which branch flips each test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.models import rehearse
from tests.models.rehearse import ModelTarget

MODEL = "accounts_kit"
ENV_KEYS = "impersonation (target.app_role), shapes (personal_workspace.predicate), roles (tenancy.roles, invitations)"
DEFECTS = {
    # Caught by the blind UPDATE replay and the MOVE probe on public.projects.
    "member_updates_other_account": None,
    # The invitations table is empty after the migration: caught by the probe row made for it.
    "invitations_read_leak": None,
    # Caught by a spoof row that satisfies the slug CHECK, judged by the stored row.
    "team_account_owner_spoof": None,
}

model_target = rehearse.model_fixture(MODEL)


def test_the_model_and_its_defect_catalogue_are_complete() -> None:
    rehearse.check_catalogue(MODEL, DEFECTS)


def test_v1_the_migration_and_every_defect_apply(model_target: ModelTarget) -> None:
    rehearse.check_sql(model_target)


@pytest.mark.xfail(
    reason="needs probes: spoofs judged by the stored row (triggers stamp created_by/updated_by; main: 32 false "
    "leaks) and controls from a team owner (accounts delete, memberships update); shapes: the personal predicate "
    f"(main: 4 users 'with two personal workspaces', counts 64 != 60); and {ENV_KEYS}",
    strict=True,
)
def test_the_clean_migration_is_go(model_target: ModelTarget, tmp_path: Path) -> None:
    rehearse.assert_go(model_target.post_migration("clean", tmp_path / "reports"))


@pytest.mark.parametrize("name", rehearse.defect_params(MODEL, DEFECTS))
def test_each_defect_fails_its_criterion(model_target: ModelTarget, name: str, tmp_path: Path) -> None:
    defect = rehearse.defect(MODEL, name)
    rehearse.assert_caught(model_target.post_migration(name, tmp_path / "reports", defect.path), defect)
