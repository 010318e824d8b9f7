"""select: no row of a tenant the member does not belong to is visible; control: it sees its own rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from psycopg import sql

from rollout_gate.isolation import judge
from rollout_gate.isolation.aims import key_text
from rollout_gate.isolation.results import Attempt

if TYPE_CHECKING:
    from rollout_gate.isolation.runner import Context


def probe(ctx: Context) -> None:
    assert ctx.member is not None
    mine = {"mine": list(ctx.member.tenants)}
    for aim in ctx.aims:
        table, meta = aim.table, ctx.model.table(aim.table.name)
        key, typ = sql.Identifier(table.key), sql.SQL(aim.key_type)
        foreign = sql.SQL("({key} is null or not ({key} = any(%(mine)s::{typ}[])))").format(key=key, typ=typ)
        # Existence, not counts: as cheap for a tenant of millions of rows as for one of ten.
        got = ctx.fetch(
            sql.SQL(
                "select exists (select 1 from {t} where {key} = any(%(mine)s::{typ}[])), "
                "(select array_agg(distinct k) from (select coalesce({key}::text, 'NULL') as k from {t} "
                "where {foreign} limit 100) f), "
                "(select array_agg(k) from (select {pk} as k from {t} t where {foreign} limit 3) f)"
            ).format(key=key, typ=typ, foreign=foreign, t=table.name.ident, pk=key_text(meta)),
            mine,
        )
        if isinstance(got, Attempt):
            ctx.add("select", table, aim.other_tenant, judge.read_denied(got, granted=ctx.granted(table, "SELECT"),
                                                                         role=ctx.model.member_role))  # fmt: skip
            continue
        sees_own, leaked, leaked_keys = got
        if sees_own:
            ctx.run.read_controls += 1
        if leaked:
            counted = ctx.fetch(sql.SQL("select count(*) from {} where {}").format(table.name.ident, foreign), mine)
            rows = counted[0] if isinstance(counted, tuple) and counted else "some"
            verdict = judge.read(sees_own=sees_own, leaked=leaked, leaked_rows=rows, other=aim.other_tenant)
            ctx.add("select", table, sorted(leaked)[0], verdict, tuple(leaked_keys or ()))
        elif not aim.own:
            ctx.add("select", table, aim.other_tenant, judge.inconclusive(aim.why_no_rows()))
        else:
            verdict = judge.read(sees_own=sees_own, leaked=(), leaked_rows=0, other=aim.other_tenant)
            if verdict.status != "ok" and aim.other_tenant is None:
                verdict = judge.inconclusive(aim.why_no_rows())
            ctx.add("select", table, aim.other_tenant, verdict)
