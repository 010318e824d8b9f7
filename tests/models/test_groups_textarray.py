"""groups_textarray: groups with roles in a text[] column, claim helpers that raise without `exp`/`aud`, and a
pre-request hook the helpers require. Rehearsed as CI would (tests/models/rehearse.py).

The clean migration is GO with nothing failing, erring or inconclusive (personal workspaces are not applicable,
as the environment file says); every defect fails its criterion and its report names the defect's objects.
Without `impersonation.pre_request` the helpers refuse every member's request: the verdict is INCONCLUSIVE,
never GO on anonymous and "not granted" results alone.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.models import rehearse
from tests.models.rehearse import ModelTarget

MODEL = "groups_textarray"
# Every defect is caught on main: none is marked.
DEFECTS: dict[str, pytest.MarkDecorator | None] = {
    "array_role_lets_members_manage": None,
    "folders_read_leak": None,
    "group_ids_precedence_leak": None,
    "group_without_owner": None,
}

model_target = rehearse.model_fixture(MODEL)


def test_the_model_and_its_defect_catalogue_are_complete() -> None:
    rehearse.check_catalogue(MODEL, DEFECTS)


def test_v1_the_migration_and_every_defect_apply(model_target: ModelTarget) -> None:
    rehearse.check_sql(model_target)


def test_the_clean_migration_is_go(model_target: ModelTarget, tmp_path: Path) -> None:
    rehearse.assert_go(model_target.post_migration("clean", tmp_path / "reports"))


def test_without_the_pre_request_hook_the_member_probes_are_inconclusive(
    model_target: ModelTarget, tmp_path: Path
) -> None:
    # The same clean target, the hook left out of the env file: app.group_ids refuses every member request.
    env = model_target.env_file.read_text()
    hook = "  impersonation: {pre_request: public.check_request}\n"
    assert hook in env
    (tmp_path / "env.yaml").write_text(env.replace(hook, ""))
    run = dataclasses.replace(model_target, env_file=tmp_path / "env.yaml").post_migration("no_hook", tmp_path / "r")
    assert "Traceback" not in run.output, run.output
    assert run.returncode == 11 and run.verdict == "INCONCLUSIVE", run.output
    assert run.statuses["zero_cross_tenant_access"] == "inconclusive", (run.statuses, run.output)
    assert run.statuses["db_role_rules"] == "inconclusive", (run.statuses, run.output)


@pytest.mark.parametrize("name", rehearse.defect_params(MODEL, DEFECTS))
def test_each_defect_fails_its_criterion(model_target: ModelTarget, name: str, tmp_path: Path) -> None:
    defect = rehearse.defect(MODEL, name)
    rehearse.assert_caught(model_target.post_migration(name, tmp_path / "reports", defect.path), defect)
