"""anon_*: the anonymous role reads and writes nothing (control: the table has rows, seen as admin).

Runs once per run, in a transaction of its own. Where writes are allowed, a table without rows gets
one first (as admin, rolled back with the transaction), so that an empty table is probed too."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from rollout_gate.catalog.tenancy import TenantTable
from rollout_gate.isolation import judge
from rollout_gate.isolation.aims import key_text
from rollout_gate.isolation.results import Attempt
from rollout_gate.isolation.rowgen import RowPlan, plan_rows, synth_template

if TYPE_CHECKING:
    from rollout_gate.isolation.runner import Context

Plan = RowPlan | str | None


def probe(ctx: Context) -> None:
    if ctx.model.anon_role is None:
        return
    tenant = ctx.run.members[0].tenant_id if ctx.run.members else None
    with ctx.transaction():
        aims: list[tuple[TenantTable, list[str], list[str], Plan, str]] = []
        for table in ctx.model.tenant_tables:
            aims.append(_aim(ctx, table, tenant))
        ctx.impersonator.anon(ctx.conn)
        for table, ctids, keys, plan, why in aims:
            _probe_table(ctx, table, ctids, tuple(keys), plan, why)


def _aim(ctx: Context, table: TenantTable, tenant: str | None) -> tuple[TenantTable, list[str], list[str], Plan, str]:
    meta = ctx.model.table(table.name)
    pick = sql.SQL("select ctid::text, to_jsonb(t), {} from {} t limit 2").format(key_text(meta), table.name.ident)
    rows = ctx.conn.execute(pick).fetchall()
    why = "the table is empty" + ("" if ctx.writes else "; writes are forbidden here, so no probe row is created")
    if not rows and ctx.writes and tenant is not None and not table.is_tenant_table:
        why = _create(ctx, table, tenant) or why
        rows = ctx.conn.execute(pick).fetchall()
    plan: Plan = None
    if ctx.writes and rows and not table.is_tenant_table:
        template = _tenant_row(ctx, table, [r[1] for r in rows])
        if template is None:
            plan = f"no row of {table.name} names a tenant ({table.key} is NULL on every row) to build one from"
        else:
            owner = str(template[table.key])
            plans = plan_rows(ctx.conn, ctx.model, table, [template], tenants=(owner,), actor=None,
                              outsider=ctx.outsider([owner]))  # fmt: skip
            plan = plans if isinstance(plans, str) else plans[0][0]
    return table, [r[0] for r in rows], [r[2] for r in rows], plan, why


def _tenant_row(ctx: Context, table: TenantTable, picked: list[dict[str, object]]) -> dict[str, object] | None:
    """A row with a tenant key to build the insert from: rows with a NULL key are expected where the model
    allows them (a lazy migration's rows of users yet to sign in, global rows), and name no tenant."""
    for row in picked:
        if row.get(table.key) is not None:
            return row
    got = ctx.conn.execute(
        sql.SQL("select to_jsonb(t) from {} t where t.{} is not null limit 1").format(
            table.name.ident, sql.Identifier(table.key)
        )
    ).fetchone()
    return dict(got[0]) if got else None


def _create(ctx: Context, table: TenantTable, tenant: str) -> str | None:
    """A row of `tenant` in an empty table; None when made, else why not."""
    member = ctx.run.members[0]
    plans = plan_rows(ctx.conn, ctx.model, table, [synth_template(ctx.conn, ctx.model.table(table.name))],
                      tenants=(tenant,), actor=member.user_id, outsider=ctx.outsider([tenant]))  # fmt: skip
    if isinstance(plans, str):
        return f"the table is empty and no probe row could be built: {plans}"
    errors = []
    for (plan,) in plans:
        try:
            with ctx.conn.transaction():
                ctx.conn.execute(plan.insert(), (json.dumps(plan.values, default=str),))
            return None
        except psycopg.Error as exc:
            errors.append(f"{exc.sqlstate}: {(exc.diag.message_primary or str(exc)).strip().splitlines()[0]}")
    return f"the table is empty and no probe row could be created: {'; '.join(sorted(set(errors)))}"


def _probe_table(
    ctx: Context, table: TenantTable, ctids: list[str], keys: tuple[str, ...], plan: Plan, why: str
) -> None:
    t = table.name.ident
    if not ctids:
        ctx.add("anon_select", table, None, judge.inconclusive(why))
        return
    got = ctx.fetch(sql.SQL("select count(*) from {}").format(t))
    ctx.add("anon_select", table, None, judge.anon_read(got if isinstance(got, Attempt) else int(got[0])), keys)
    if not ctx.writes:
        return
    key = sql.Identifier(table.key)
    statements = (
        ("anon_update", sql.SQL("update {} set {k} = {k} where ctid = any(%s::tid[])").format(t, k=key)),
        ("anon_delete", sql.SQL("delete from {} where ctid = any(%s::tid[])").format(t)),
    )
    for op, stmt in statements:
        ctx.add(op, table, None, judge.anon_write(op, ctx.attempt(stmt, (ctids,))), keys)
    if isinstance(plan, RowPlan):
        ctx.add("anon_insert", table, None, judge.anon_write("anon_insert", ctx.insert(plan)), plan.keys)
    elif isinstance(plan, str):
        ctx.add("anon_insert", table, None, judge.inconclusive(f"cannot build a row: {plan}"))
