"""What the admin picks for each tenant table before a member is impersonated (and creates, if needed).

For the member's tenant and another tenant B: up to two own rows and three of B's (ctid, primary
key as `col=value`), both as JSON for the policy replays, and the rows INSERT probes write. Where
writes are allowed and either tenant has no row in the table, one is created inside the member's
rolled-back transaction, as admin: copied from a row of any tenant (re-keyed, see rowgen.py) or,
in an empty table, synthesized from the catalog. Tables are visited parents first, so a row made
for a parent is there for its children.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from rollout_gate.catalog.model import Table
from rollout_gate.catalog.tenancy import TenancyModel, TenantTable
from rollout_gate.isolation.rowgen import RowPlan, plan_rows, synth_template
from rollout_gate.isolation.sampling import Member

if TYPE_CHECKING:
    from rollout_gate.isolation.runner import Context

# Candidate rows per probe: pairs (own, other) for the INSERT probe, 1-tuples for the spoofs.
Plans = list[tuple[RowPlan, ...]] | str


@dataclass
class Aim:
    table: TenantTable
    key_type: str
    own: list[str] = field(default_factory=list)  # ctids
    own_keys: list[str] = field(default_factory=list)
    own_tenant: str = ""
    other_tenant: str | None = None
    other: list[str] = field(default_factory=list)
    other_keys: list[str] = field(default_factory=list)
    # Own and other rows as JSON, to replay the UPDATE/DELETE policies on (see replay.py).
    own_rows: str = "[]"
    other_rows: str = "[]"
    # WHERE clause finding own[0] by its primary key after an UPDATE (None: the table has none).
    own_locate: tuple[sql.Composed, list[Any]] | None = None
    outsider: str | None = None
    insert_plans: Plans = "no template row"
    own_plans: Plans = "no template row"
    # Why a probe row could not be created, per side ("own" / "other").
    not_created: dict[str, str] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)

    def why_no_rows(self) -> str:
        """Why there is nothing to aim at (own side first)."""
        side = "own" if not self.own else "other"
        base = "the member's tenant has no rows here" if side == "own" else "no other tenant has rows here"
        return f"{base} ({self.not_created[side]})" if side in self.not_created else base


def prepare(ctx: Context, member: Member, others: list[Member]) -> list[Aim]:
    preferred = [o for o in others if o.tenant_id not in member.tenants]
    made = {t.name: _aim(ctx, t, member, preferred) for t in parents_first(ctx.model)}
    return [made[t.name] for t in ctx.model.tenant_tables]


def parents_first(model: TenancyModel) -> list[TenantTable]:
    """Tenant tables ordered so that a table's tenant-table parents come before it."""
    tables = {t.name: t for t in model.tenant_tables}
    parents: dict[Any, set[Any]] = {name: set() for name in tables}
    for fk in model.catalog.foreign_keys:
        if fk.child in tables and fk.parent in tables and fk.parent != fk.child:
            parents[fk.child].add(fk.parent)
    out: list[TenantTable] = []
    done: set[Any] = set()

    def visit(name: Any, path: frozenset[Any]) -> None:
        if name in done or name in path:
            return
        for parent in sorted(parents[name]):
            visit(parent, path | {name})
        done.add(name)
        out.append(tables[name])

    for name in tables:
        visit(name, frozenset())
    return out


def _aim(ctx: Context, table: TenantTable, member: Member, preferred: list[Member]) -> Aim:
    meta = ctx.model.table(table.name)
    aim = Aim(table, meta.columns[table.key].type, own_tenant=member.tenant_id)
    aim.own, aim.own_keys = _pick(ctx.conn, meta, table, member.tenant_id, 2)
    if not aim.own and ctx.writes and not table.is_tenant_table:
        _create(ctx, aim, meta, "own", member.tenant_id, member.user_id)
        aim.own, aim.own_keys = _pick(ctx.conn, meta, table, member.tenant_id, 2)
    aim.other_tenant = _other_tenant(ctx.conn, table, aim.key_type, member, preferred)
    if aim.other_tenant is None and preferred and ctx.writes and not table.is_tenant_table:
        target = preferred[0]
        if _create(ctx, aim, meta, "other", target.tenant_id, target.user_id):
            aim.other_tenant = target.tenant_id
    if aim.other_tenant is not None:
        aim.other, aim.other_keys = _pick(ctx.conn, meta, table, aim.other_tenant, 3)
    if aim.own and aim.other:
        rows = sql.SQL("select coalesce(jsonb_agg(to_jsonb(t)), '[]')::text from {} t where ctid = any(%s::tid[])")
        aim.own_rows = _one(ctx.conn, rows.format(table.name.ident), (aim.own,))
        aim.other_rows = _one(ctx.conn, rows.format(table.name.ident), (aim.other,))
    if aim.own:
        aim.own_locate = _locate(ctx.conn, meta, aim.own[0])
    if ctx.writes and aim.own:
        _plan(ctx, aim, member)
    return aim


def _pick(
    conn: psycopg.Connection[Any], meta: Table, table: TenantTable, tenant: str, n: int
) -> tuple[list[str], list[str]]:
    query = sql.SQL("select ctid::text, {} from {} t where {} = %s::{} limit %s").format(
        key_text(meta), table.name.ident, sql.Identifier(table.key), sql.SQL(meta.columns[table.key].type)
    )
    rows = conn.execute(query, (tenant, n)).fetchall()
    return [r[0] for r in rows], [r[1] for r in rows]


def key_text(meta: Table, alias: str = "t") -> sql.Composable:
    """`id=…` (every primary-key column), or `ctid=(p,n)` for a table without one: never row data."""
    if not meta.primary_key:
        return sql.SQL("'ctid=' || {}.ctid::text").format(sql.Identifier(alias))
    parts = [
        sql.SQL("{} || coalesce({}.{}::text, 'NULL')").format(
            sql.Literal(f"{c}="), sql.Identifier(alias), sql.Identifier(c)
        )
        for c in meta.primary_key
    ]
    return sql.SQL("concat_ws(', ', {})").format(sql.SQL(", ").join(parts))


def _locate(conn: psycopg.Connection[Any], meta: Table, ctid: str) -> tuple[sql.Composed, list[Any]] | None:
    if not meta.primary_key:
        return None
    cols = sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in meta.primary_key)
    row = conn.execute(
        sql.SQL("select {} from {} where ctid = %s::tid").format(cols, meta.name.ident), (ctid,)
    ).fetchone()
    if row is None:
        return None
    where = sql.SQL(" and ").join(
        sql.SQL("{} = %s::{}").format(sql.Identifier(c), sql.SQL(meta.columns[c].type)) for c in meta.primary_key
    )
    return where, list(row)


def _other_tenant(
    conn: psycopg.Connection[Any], table: TenantTable, key_type: str, member: Member, preferred: list[Member]
) -> str | None:
    t, key, typ = table.name.ident, sql.Identifier(table.key), sql.SQL(key_type)
    row = conn.execute(
        sql.SQL(
            "select coalesce((select x from unnest(%s::text[]) with ordinality u(x, i) "
            "where exists (select 1 from {t} where {key} = x::{typ}) order by i limit 1), "
            "(select {key}::text from {t} where {key} is not null and not ({key} = any(%s::{typ}[])) limit 1))"
        ).format(t=t, key=key, typ=typ),
        ([o.tenant_id for o in preferred], list(member.tenants)),
    ).fetchone()
    return row[0] if row else None


def _create(ctx: Context, aim: Aim, meta: Table, side: str, tenant: str, actor: str) -> bool:
    """Create a row of `tenant` for the probes (as admin, kept until the member's transaction rolls back)."""
    t = aim.table.name.ident
    rows = ctx.conn.execute(sql.SQL("select to_jsonb(t) from {} t limit 3").format(t)).fetchall()
    templates = [r[0] for r in rows] or [synth_template(ctx.conn, meta)]
    plans = plan_rows(
        ctx.conn, ctx.model, aim.table, templates, tenants=(tenant,), actor=actor, outsider=ctx.outsider([tenant])
    )
    if isinstance(plans, str):
        aim.not_created[side] = f"no probe row could be built: {plans}"
        return False
    errors = []
    for (plan,) in plans:
        try:
            with ctx.conn.transaction():
                ctx.conn.execute(plan.insert(), (json.dumps(plan.values, default=str),))
        except psycopg.Error as exc:
            errors.append(f"{exc.sqlstate}: {(exc.diag.message_primary or str(exc)).strip().splitlines()[0]}")
            continue
        aim.created.append(side)
        return True
    aim.not_created[side] = f"no probe row could be created: {'; '.join(sorted(set(errors)))}"
    return False


def _plan(ctx: Context, aim: Aim, member: Member) -> None:
    """INSERT candidates, from the member's own rows as templates."""
    got = ctx.conn.execute(
        sql.SQL("select to_jsonb(t) from {} t where ctid = any(%s::tid[])").format(aim.table.name.ident), (aim.own,)
    ).fetchall()
    templates = [r[0] for r in got]
    aim.outsider = ctx.outsider([member.tenant_id, *([aim.other_tenant] if aim.other_tenant else [])])
    if aim.table.is_tenant_table:
        # A new tenant row: nobody's yet, so only the spoofs (its creator) are probed on it.
        aim.own_plans = plan_rows(
            ctx.conn, ctx.model, aim.table, templates, tenants=(None,), actor=member.user_id, outsider=aim.outsider
        )
        return
    tenants = (member.tenant_id, aim.other_tenant) if aim.other_tenant is not None else (member.tenant_id,)
    plans = plan_rows(ctx.conn, ctx.model, aim.table, templates, tenants=tenants, actor=member.user_id,
                      outsider=aim.outsider)  # fmt: skip
    aim.own_plans = plans if isinstance(plans, str) else [p[:1] for p in plans]
    aim.insert_plans = (
        plans if isinstance(plans, str) or aim.other_tenant is not None else "no other tenant has rows here"
    )


def find_outsider(conn: psycopg.Connection[Any], model: TenancyModel, tenants: list[str]) -> str | None:
    cfg, m = model.config, model.config.membership
    row = conn.execute(
        sql.SQL(
            "select u.{ukey}::text from {users} u where not exists (select 1 from {members} m "
            "where m.{muser} = u.{ukey} and m.{mtenant}::text = any(%s)) order by 1 limit 1"
        ).format(
            ukey=sql.Identifier(cfg.user_key),
            users=model.user_table.ident,
            members=model.membership_table.ident,
            muser=sql.Identifier(m.user_column),
            mtenant=sql.Identifier(m.tenant_column),
        ),
        (tenants,),
    ).fetchone()
    return row[0] if row else None


def _one(conn: psycopg.Connection[Any], query: sql.Composed, params: Any) -> str:
    row = conn.execute(query, params).fetchone()
    return str(row[0]) if row else "[]"
