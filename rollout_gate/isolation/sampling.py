"""Pick the members to impersonate: one per sampled tenant, deterministically, favouring coverage.

Candidates are one active member per tenant (an owner where there is one, never a read-only role
when another exists), in an order fixed by a hash of the tenant id and the configured seed. From
four times the sample size (plus the tenant with the most active members), the tenants with rows in
the most tenant tables are kept, a membership besides the candidate's own counting as one more (the
controls of membership updates and deletes need it: an owner may not demote or remove itself), so
that the probes' positive controls can run on as many tables and operations as possible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from rollout_gate.catalog.tenancy import TenancyModel


@dataclass(frozen=True)
class Member:
    user_id: str
    tenant_id: str
    role: str
    # Every tenant this member may legitimately see (all their active memberships).
    tenants: tuple[str, ...]
    email: str | None = None

    def __str__(self) -> str:
        return f"tenant {self.tenant_id} (user {self.user_id}, {self.role})"


def sample_members(conn: psycopg.Connection[Any], model: TenancyModel, size: int, seed: int = 0) -> list[Member]:
    cfg, m = model.config, model.config.membership
    active = (
        sql.SQL("m.{} = {}").format(sql.Identifier(m.status_column), sql.Literal(m.active_value))
        if m.status_column
        else sql.SQL("true")
    )
    role = sql.SQL("m.{}").format(sql.Identifier(m.role_column))
    writers = [r for r in cfg.roles.names if r not in cfg.roles.read_only]
    ids = {
        "members": model.membership_table.ident, "tenant": sql.Identifier(m.tenant_column),
        "user": sql.Identifier(m.user_column), "role": sql.Identifier(m.role_column), "active": active,
        # Scalar or array role columns alike (roles in a text[] column hold several).
        "is_owner": model.has_role(role, m.owner_role),
        "read_only": sql.SQL("not ({})").format(model.has_any_role(role, writers)),
    }  # fmt: skip
    candidates = conn.execute(
        sql.SQL(
            "with c as (select distinct on (m.{tenant}) m.{tenant}::text as tenant, m.{user}::text as member, "
            "m.{role}::text as role from {members} m where {active} "
            "order by m.{tenant}, ({is_owner}) desc, ({read_only}), "
            "m.{user}::text) "
            "select tenant, member, role from c order by hashtextextended(tenant || ':' || %s, 0) limit %s"
        ).format(**ids),
        (str(seed), size * 4),
    ).fetchall()
    if not candidates:
        return []
    # The tenant with the most active members joins the candidates: its membership rows other than the
    # member's own are what the controls of membership updates and deletes act on.
    biggest = conn.execute(
        sql.SQL(
            "select m.{tenant}::text from {members} m where {active} group by 1 having count(*) > 1 "
            "order by count(*) desc, hashtextextended(m.{tenant}::text || ':' || %s, 0) limit 1"
        ).format(**ids),
        (str(seed),),
    ).fetchone()
    if biggest is not None and all(t != biggest[0] for t, _, _ in candidates):
        found = conn.execute(
            sql.SQL(
                "select m.{tenant}::text, m.{user}::text, m.{role}::text from {members} m "
                "where m.{tenant}::text = %s and {active} order by ({is_owner}) desc, ({read_only}), m.{user}::text "
                "limit 1"
            ).format(**ids),
            (biggest[0],),
        ).fetchone()
        if found is not None:
            candidates.append((found[0], found[1], found[2]))
    coverage = {t: 0 for t, _, _ in candidates}
    tenant_ids = list(coverage)
    # The membership table counts for a tenant with a membership besides the candidate's own.
    others = conn.execute(
        sql.SQL(
            "select c.t from unnest(%s::text[], %s::text[]) c(t, u) where exists (select 1 from {members} m "
            "where m.{tenant}::text = c.t and m.{user}::text <> c.u and {active})"
        ).format(**ids),
        ([t for t, _, _ in candidates], [u for _, u, _ in candidates]),
    ).fetchall()
    for (tenant,) in others:
        coverage[tenant] += 1
    for table in model.tenant_tables:
        key_type = model.table(table.name).columns[table.key].type
        rows = conn.execute(
            sql.SQL("select x from unnest(%s::text[]) x where exists (select 1 from {} t where t.{} = x::{})").format(
                table.name.ident, sql.Identifier(table.key), sql.SQL(key_type)
            ),
            (tenant_ids,),
        ).fetchall()
        for (tenant,) in rows:
            coverage[tenant] += 1
    order = {t: i for i, t in enumerate(tenant_ids)}
    chosen = sorted(candidates, key=lambda c: (-coverage[c[0]], order[c[0]]))[:size]
    email_column = "email" if "email" in model.table(model.user_table).columns else None
    members = []
    for tenant, user, role in chosen:
        tenants = conn.execute(
            sql.SQL(
                "select coalesce(array_agg(m.{tenant}::text order by 1), '{{}}') from {members} m "
                "where m.{user}::text = %s and {active}"
            ).format(**ids),
            (user,),
        ).fetchone()
        email = None
        if email_column:
            row = conn.execute(
                sql.SQL("select {}::text from {} where {}::text = %s").format(
                    sql.Identifier(email_column), model.user_table.ident, sql.Identifier(cfg.user_key)
                ),
                (user,),
            ).fetchone()
            email = row[0] if row else None
        own = tuple(tenants[0]) if tenants else (tenant,)
        if cfg.impersonation.mode == "setting" and cfg.impersonation.setting_value == "tenant":
            own = (tenant,)
        members.append(Member(user, tenant, role, own, email))
    return members
