"""Provisioning through the environment's SQL templates, cleanup to zero, and sweeping by age."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest

from rollout_gate.config import load_environment
from rollout_gate.local.target import LocalTarget
from rollout_gate.phases import Phase
from rollout_gate.provisioning.config import ProvisioningConfig
from rollout_gate.provisioning.provisioner import Access, Provisioner
from rollout_gate.provisioning.sweep import sweep
from rollout_gate.reference_app.passwords import verify_password
from tests.provisioning.local_targets import local_target, provisioned_rows
from tests.rehearsal import ROOT

SQL = ProvisioningConfig(via="sql")


@pytest.fixture(scope="module")
def migrated() -> Iterator[LocalTarget]:
    with local_target("prov-sql") as target:
        target.advance_to(Phase.POST_MIGRATION)
        yield target


def test_sql_templates_provision_every_role_and_invitation_state_and_cleanup_leaves_nothing(
    migrated: LocalTarget,
) -> None:
    dsn = migrated.database_url()
    prefix = "rg-test-20260101000000-sqlsql-main-p1-"
    prov = Provisioner(SQL, prefix, Access(dsn=dsn))
    assert prov.via == "sql"
    owner = prov.user("owner")
    members = {role: prov.user(role) for role in ("admin", "member", "viewer")}
    org = prov.org(owner, "org", members=members)
    project = prov.record(org, owner, "projects", name=prov.naming.name("project"))
    prov.record(org, members["member"], "time-entries", project_id=project, note="n")
    states = {
        state: prov.invitation(org, prov.naming.email(state), state=state)
        for state in ("pending", "expired", "revoked")
    }
    with psycopg.connect(dsn, autocommit=True) as conn:
        roles = dict(
            conn.execute(
                "select user_id::text, role from public.memberships where organization_id = %s", (org.id,)
            ).fetchall()
        )
        assert roles == {owner.id: "owner", **{u.id: role for role, u in members.items()}}
        rows = conn.execute(
            "select id::text, expires_at < now(), revoked_at is not null from public.invitations "
            "where organization_id = %s",
            (org.id,),
        ).fetchall()
        by_id = {r[0]: (r[1], r[2]) for r in rows}
        assert by_id[states["pending"].id] == (False, False)
        assert by_id[states["expired"].id] == (True, False) and by_id[states["revoked"].id] == (False, True)
        stored = conn.execute("select encrypted_password from auth.users where id = %s", (owner.id,)).fetchone()
        assert stored is not None and verify_password(prov.password, stored[0]), "the app could not sign this user in"
    assert provisioned_rows(dsn, prefix) == {"organizations": 1, "users": 4, "invitations": 3, "memberships": 4}
    prov.cleanup()
    assert set(provisioned_rows(dsn, prefix).values()) == {0}


def test_sweep_deletes_by_prefix_and_age_only_and_survives_a_rolled_back_schema(migrated: LocalTarget) -> None:
    dsn = migrated.database_url()
    templates = load_environment(ROOT / "environments" / "local.yaml").env.provisioning.sql
    killed = Provisioner(SQL, "rg-test-20260101000000-killed-main-p1-", Access(dsn=dsn))
    killed.org(killed.user("owner"), "org")
    with pytest.raises(ValueError, match="outside rg-test-"):
        sweep(dsn, templates.cleanup, templates.count, older_than=timedelta(0), prefix="user")
    young = sweep(dsn, templates.cleanup, templates.count, older_than=timedelta(hours=2))
    assert young.deleted == 0 and young.after == young.before and young.before["users"] == 1
    swept = sweep(dsn, templates.cleanup, templates.count, older_than=timedelta(0))
    assert swept.deleted == 2 and set(swept.after.values()) == {0}

    survivor = Provisioner(SQL, "rg-test-20260101000000-rolled-main-p1-", Access(dsn=dsn))
    survivor.user("stays-after-rollback")
    migrated.advance_to(Phase.POST_ROLLBACK)  # v1 again: no organizations table
    after_rollback = sweep(dsn, templates.cleanup, templates.count, older_than=timedelta(0))
    assert after_rollback.deleted == 1 and after_rollback.after == {"users": 0}
    assert any("organizations" in line for line in after_rollback.skipped)
