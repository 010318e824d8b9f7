"""The virtual users' identities: real members of several tenants, never their passwords on disk."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from rollout_gate.api.tenant_users import TenantUsers
from rollout_gate.catalog.discover import complete_from
from rollout_gate.catalog.names import qualify
from rollout_gate.config.models import TenancyConfig

# The shared test password travels to Locust in this variable, never in a file or on a command line.
PASSWORD_VAR = "ROLLOUT_LOAD_PASSWORD"
# Rows the virtual users write carry this prefix (the run's), so the harness can delete them afterwards.
NOTE_VAR = "ROLLOUT_LOAD_NOTE"


@dataclass(frozen=True)
class Member:
    email: str
    # Known up front when sampled from the database; otherwise read from the API after sign-in.
    org_ids: tuple[str, ...] = ()
    password: str | None = field(default=None, repr=False)
    # A member whose role may not write (`load.resource_mix.read_only_roles`): it only lists and reads.
    read_only: bool = False


@dataclass
class MemberPool:
    members: list[Member]
    # Every tenant the pool knows: an id of one of these in another member's response is a leak.
    tenants: set[str] = field(default_factory=set)

    def save(self, path: Path) -> None:
        """Emails and tenant ids only: passwords stay in memory and in PASSWORD_VAR."""
        payload: dict[str, Any] = {
            "members": [{"email": m.email, "org_ids": list(m.org_ids)} for m in self.members],
            "tenants": sorted(self.tenants),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=1))

    @classmethod
    def load(cls, path: Path, *, password: str | None = None) -> MemberPool:
        data: dict[str, Any] = json.loads(path.read_text())
        members = [Member(m["email"], tuple(m.get("org_ids", ())), password) for m in data["members"]]
        return cls(members=members, tenants=set(data.get("tenants", ())))

    @classmethod
    def from_csv(cls, path: Path) -> MemberPool:
        """`email,password` rows (a header row is optional): staging users provisioned beforehand."""
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [r for r in csv.reader(handle) if r and r[0].strip() and r[0].strip().lower() != "email"]
        bad = [i + 1 for i, r in enumerate(rows) if len(r) < 2 or not r[1]]
        if bad:
            raise ValueError(f"{path}: rows {bad[:5]} need email,password")
        return cls(members=[Member(r[0].strip(), (), r[1]) for r in rows])

    @classmethod
    def from_tenant_users(cls, users: TenantUsers, read_only_roles: tuple[str, ...] = ()) -> MemberPool:
        """The declared resources' users (`api.tenant_users.csv`): each a member of the tenant its row names."""
        members = [Member(u.email, (u.tenant,), u.secret, u.role in read_only_roles) for u in users.users]
        return cls(members=members, tenants={u.tenant for u in users.users})


def sample_members(
    conn: psycopg.Connection[Any], tenancy: TenancyConfig, *, size: int, email_column: str = "email"
) -> MemberPool:
    """Up to `size` active members spread over as many tenants as possible, with all their tenants."""
    tenancy = complete_from(conn, tenancy)  # keys the environment leaves out, from the catalog
    m = tenancy.membership
    active = (
        sql.SQL("and {} = {}").format(sql.Identifier(m.status_column), sql.Literal(m.active_value))
        if m.status_column
        else sql.SQL("")
    )
    query = sql.SQL(
        """
        with active as (
            select {user}::text as user_id, {tenant}::text as tenant_id from {memberships} where true {active}
        ), one_per_tenant as (
            select distinct on (tenant_id) user_id, tenant_id from active order by tenant_id, md5(user_id)
        ), picked as (
            select user_id from one_per_tenant group by user_id order by md5(min(tenant_id)) limit {size}
        )
        select u.{email}, array_agg(a.tenant_id order by a.tenant_id)
        from picked p join active a using (user_id)
        join {users} u on u.{user_key}::text = p.user_id
        group by u.{email} order by 1
        """
    ).format(
        user=sql.Identifier(m.user_column),
        tenant=sql.Identifier(m.tenant_column),
        memberships=qualify(m.table).ident,
        active=active,
        size=sql.Literal(size),
        email=sql.Identifier(email_column),
        users=qualify(tenancy.user_table).ident,
        user_key=sql.Identifier(tenancy.user_key),
    )
    rows = conn.execute(query).fetchall()
    members = [Member(email, tuple(orgs)) for email, orgs in rows]
    return MemberPool(members=members, tenants={t for member in members for t in member.org_ids})


def provisioned_pool(provisioner: Any, size: int) -> MemberPool:
    """`size` fresh test members, each owning a test organization with one project to log time on.

    For targets whose real users' passwords the harness does not know (staging): the
    provisioner names everything with the run's prefix and removes it afterwards.
    """
    members = []
    for n in range(size):
        user = provisioner.user(f"load{n}")
        org = provisioner.org(user, f"load{n}")
        provisioner.record(org, user, "projects", name=f"load project {n}")
        members.append(Member(user.email, (org.id.lower(),), user.password))
    return MemberPool(members=members, tenants={t for m in members for t in m.org_ids})
