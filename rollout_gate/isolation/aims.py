"""What the admin picks for each tenant table before a member is impersonated (and creates, if needed).

For the member's tenant and another tenant B: up to two own rows and three of B's (ctid, primary
key as `col=value`), both as JSON for the policy replays, and the rows INSERT probes write. Where
writes are allowed and either tenant has no row in the table, one is created inside the member's
rolled-back transaction, as admin: copied from a row of any tenant (re-keyed, see rowgen.py) or,
in an empty table, synthesized from the catalog. INSERT candidates start from the member's own rows,
then rows of other shapes (`shape_templates`), so a policy or CHECK refusing one kind of row does not
leave the probe without a positive control. Tables are visited parents first, so a row made
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
        return f"{base}; {self.not_created[side]}" if side in self.not_created else base


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
    picked = _pick(ctx.conn, meta, table, member, preferred)
    creatable = ctx.writes and not table.is_tenant_table
    if creatable and not picked.own:
        _create(ctx, aim, meta, "own", member.tenant_id, member.user_id)
    if creatable and picked.other_tenant is None and preferred:
        _create(ctx, aim, meta, "other", preferred[0].tenant_id, preferred[0].user_id)
    if aim.created:
        picked = _pick(ctx.conn, meta, table, member, preferred)
    if not ctx.writes and not table.is_tenant_table:
        for side, missing in (("own", not picked.own), ("other", picked.other_tenant is None)):
            if missing:
                aim.not_created[side] = "writes are forbidden here, so no probe row is created"
    aim.own, aim.own_keys, aim.other_tenant = picked.own, picked.own_keys, picked.other_tenant
    if aim.other_tenant is not None:
        aim.other, aim.other_keys = picked.other, picked.other_keys
    if aim.own and aim.other:
        aim.own_rows, aim.other_rows = json.dumps(picked.own_rows), json.dumps(picked.other_rows)
    if aim.own and meta.primary_key and all(picked.own_rows[0].get(c) is not None for c in meta.primary_key):
        where = sql.SQL(" and ").join(
            sql.SQL("{} = %s::{}").format(sql.Identifier(c), sql.SQL(meta.columns[c].type)) for c in meta.primary_key
        )
        aim.own_locate = where, [_text(picked.own_rows[0][c]) for c in meta.primary_key]
    if ctx.writes and aim.own:
        _plan(ctx, aim, member, picked.own_rows)
    return aim


@dataclass
class _Picked:
    own: list[str]
    own_keys: list[str]
    own_rows: list[dict[str, Any]]
    other_tenant: str | None
    other: list[str]
    other_keys: list[str]
    other_rows: list[dict[str, Any]]


# One round trip per table: two of the member's rows, the other tenant (a sampled one where it has
# rows, else any other), three of its rows; each as (ctid, primary key text, row as JSON).
_PICK = """
with own as (select ctid::text as c, {pk} as k, to_jsonb(t) as j from {t} t where {key} = %(tenant)s::{typ} limit 2),
pick as (select coalesce(
    (select x from unnest(%(preferred)s::text[]) with ordinality u(x, i)
      where exists (select 1 from {t} where {key} = x::{typ}) order by i limit 1),
    (select {key}::text from {t} where {key} is not null and not ({key} = any(%(mine)s::{typ}[])) limit 1)) as x),
other as (select ctid::text as c, {pk} as k, to_jsonb(t) as j from {t} t
          where {key} = (select x::{typ} from pick) limit 3)
select array(select c from own), array(select k from own), coalesce((select jsonb_agg(j) from own), '[]'),
       (select x from pick), array(select c from other), array(select k from other),
       coalesce((select jsonb_agg(j) from other), '[]')
"""


def _pick(
    conn: psycopg.Connection[Any], meta: Table, table: TenantTable, member: Member, preferred: list[Member]
) -> _Picked:
    query = sql.SQL(_PICK).format(
        pk=key_text(meta), t=table.name.ident, key=sql.Identifier(table.key), typ=sql.SQL(meta.columns[table.key].type)
    )
    params = {"tenant": member.tenant_id, "preferred": [o.tenant_id for o in preferred], "mine": list(member.tenants)}
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return _Picked(*row)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


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


def _create(ctx: Context, aim: Aim, meta: Table, side: str, tenant: str, actor: str) -> bool:
    """Create a row of `tenant` for the probes (as admin, kept until the member's transaction rolls back)."""
    templates = shape_templates(ctx.conn, meta, cache=ctx.shapes) or [synth_template(ctx.conn, meta)]
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


# Rows of other shapes (which columns are NULL, the booleans' values), from the first rows of the table:
# a CHECK may tie a column to another (`personal_account = (slug is null)`), a policy may accept one
# kind of row only (team accounts, not personal ones).
_SHAPES = """
select j from (select distinct on (s) j, n from (
    select to_jsonb(t) as j, row_number() over () as n,
           (select array_agg(e.key || ':' || case when jsonb_typeof(e.value) in ('null', 'boolean')
                                               then e.value::text else '' end order by e.key)
              from jsonb_each(to_jsonb(t)) e) as s
    from (select * from {} limit 1000) t) x order by s, n) y
order by n limit %s
"""


# Enough distinct-shape rows for every call: `limit` (3) more than the member's own rows (at most 2).
_SHAPE_ROWS = 5


def shape_templates(
    conn: psycopg.Connection[Any],
    meta: Table,
    after: list[dict[str, Any]] | None = None,
    limit: int = 3,
    cache: dict[Any, list[dict[str, Any]]] | None = None,
) -> list[dict[str, Any]]:
    """`after` (the member's own rows), then rows of shapes they do not have, at most `limit` more.

    With `cache` (the run's), the table is read once per run: the first read of a table in any member's
    transaction comes before that transaction creates a probe row in it (`_aim` reads, then creates), so
    what is cached are the target's own rows, never a rolled-back probe row of an earlier member."""

    def shape(row: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
        return tuple(sorted((k, v if v is None or isinstance(v, bool) else "") for k, v in row.items()))

    out = list(after or [])
    seen = {shape(r) for r in out}
    if cache is not None and meta.name in cache:
        rows = cache[meta.name]
    else:
        wanted = max(_SHAPE_ROWS, limit + len(out)) if cache is not None else limit + len(out)
        rows = [r for (r,) in conn.execute(sql.SQL(_SHAPES).format(meta.name.ident), (wanted,)).fetchall()]
        if cache is not None:
            cache[meta.name] = rows
    for row in rows[: limit + len(out)]:
        if shape(row) not in seen and len(out) < len(after or []) + limit:
            seen.add(shape(row))
            out.append(row)
    return out


def _plan(ctx: Context, aim: Aim, member: Member, own_rows: list[dict[str, Any]]) -> None:
    """INSERT candidates, from the member's own rows as templates, then rows of other shapes."""
    templates = shape_templates(ctx.conn, ctx.model.table(aim.table.name), own_rows, cache=ctx.shapes)
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
