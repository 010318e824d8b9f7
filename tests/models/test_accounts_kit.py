"""accounts_kit: personal/team accounts, an enum role, user-tracking triggers, a slug CHECK tied to the
personal flag, invitations (empty right after the migration). Rehearsed as CI would (tests/models/rehearse.py).

The clean migration is GO; the probes and the role matrix are also run directly on it, to show what made
it GO: every (table, operation) proved, the trigger-stamped columns judged by the stored row.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from rollout_gate.catalog import resolve_tenancy
from rollout_gate.catalog.discover import catalog_for
from rollout_gate.config import load_environment
from rollout_gate.isolation.results import INCONCLUSIVE, LEAK, OK, ProbeRun
from rollout_gate.isolation.roles import RoleMatrixRun, role_matrix
from rollout_gate.isolation.runner import run_probes
from rollout_gate.isolation.sampling import sample_members
from tests.models import rehearse
from tests.models.rehearse import MODELS, ModelTarget

MODEL = "accounts_kit"
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


def test_the_clean_migration_is_go(model_target: ModelTarget, tmp_path: Path) -> None:
    rehearse.assert_go(model_target.post_migration("clean", tmp_path / "reports"))


@pytest.mark.parametrize("name", rehearse.defect_params(MODEL, DEFECTS))
def test_each_defect_fails_its_criterion(model_target: ModelTarget, name: str, tmp_path: Path) -> None:
    defect = rehearse.defect(MODEL, name)
    rehearse.assert_caught(model_target.post_migration(name, tmp_path / "reports", defect.path), defect)


def _probe(model_target: ModelTarget, label: str) -> tuple[ProbeRun, RoleMatrixRun]:
    dsn = model_target.database(label, MODELS / MODEL / "migration.sql")
    env = load_environment(model_target.env_file, {"MODEL_DSN": dsn}).env
    cfg = env.tenancy
    with psycopg.connect(dsn, autocommit=True) as conn:
        roles = [r for r in (cfg.impersonation.role, cfg.impersonation.anon_role) if r]
        model = resolve_tenancy(cfg, catalog_for(conn, cfg, roles=roles))
        assert model.problems == []
        members = sample_members(conn, model, cfg.probes.sample_tenants, cfg.probes.seed)
        return run_probes(conn, model, members, writes=True), role_matrix(conn, model, writes=True)


def test_the_probes_prove_every_operation_on_the_clean_model(model_target: ModelTarget) -> None:
    run, matrix = _probe(model_target, "probed")
    # Conclusive results only (a member whose policies rightly refuse an operation leaves it to another).
    by = {(r.op, r.table, r.column): r for r in run.results if r.status != INCONCLUSIVE}
    assert [str(r) for r in run.results if r.status == LEAK] == []
    assert run.gaps(tuple({r.op for r in run.results})) == []
    # A team owner is sampled: the controls of deleting an account and managing other members ran.
    for op, table in (("delete", "accounts"), ("update", "accounts_memberships"), ("delete", "accounts_memberships"),
                      ("blind_delete", "accounts"), ("blind_update", "accounts_memberships")):  # fmt: skip
        assert by[(op, f"public.{table}", None)].status == OK, by[(op, f"public.{table}", None)]
    # The triggers stamp the author: the forged value went through, what was stored is the member.
    # (accounts_memberships grants neither INSERT nor an UPDATE of them: settled by the grants, not probed.)
    for table in ("accounts", "projects", "tasks"):
        for column in ("created_by", "updated_by"):
            found = [r for r in run.results if r.table == f"public.{table}" and r.column == column]
            assert found and all(r.status != LEAK for r in found), found
            insert = by[("spoof_insert", f"public.{table}", column)]
            assert insert.status == OK and "overwrote" in insert.detail, insert
    # A team account (fresh slug, the CHECK met) is the control the personal account could not be.
    owner = by[("spoof_insert", "public.accounts", "primary_owner_user_id")]
    assert owner.status == OK and "row-level security" in owner.detail, owner
    # The empty invitations table: a probe row made (invited_by NOT NULL default auth.uid(): the member).
    for op in ("select", "insert", "delete", "anon_select"):
        assert by[(op, "public.invitations", None)].status == OK, by[(op, "public.invitations", None)]
    assert by[("spoof_insert", "public.invitations", "invited_by")].status == OK
    # The role matrix: every cell conclusive (the identity `id` left out, the primary owner as a control).
    assert matrix.not_run == ""
    assert [str(c.result) for c in matrix.cells if c.result.status != OK] == []
