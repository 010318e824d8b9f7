"""update / delete: statements aimed at B's rows touch 0 rows (control: the same on its own rows touches
them); insert: a row keyed to B is rejected, or stored keyed elsewhere (control: the same row keyed to its
own tenant is accepted). Runs only where writes are allowed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from psycopg import sql

from rollout_gate.isolation import judge
from rollout_gate.isolation.aims import Aim
from rollout_gate.isolation.results import Attempt
from rollout_gate.isolation.rowgen import RowPlan

if TYPE_CHECKING:
    from rollout_gate.isolation.runner import Context


def probe(ctx: Context) -> None:
    if not ctx.writes:
        return
    for aim in ctx.aims:
        table, t = aim.table, aim.table.name.ident
        column = ctx.updatable(table)
        denied = {
            "update": None if column else "no column is updatable",
            "delete": None if ctx.granted(table, "DELETE") else "no DELETE privilege",
            "insert": None if ctx.granted(table, "INSERT") else "no INSERT privilege",
        }
        ops = ("update", "delete") if table.is_tenant_table else ("update", "delete", "insert")
        pending = []
        for op in ops:
            if denied[op]:
                ctx.add(op, table, aim.other_tenant, judge.not_granted(ctx.model.member_role, denied[op] or ""))
            else:
                pending.append(op)
        if not aim.own or aim.other_tenant is None or not aim.other:
            for op in pending:
                ctx.add(op, table, aim.other_tenant, judge.inconclusive(aim.why_no_rows()))
            continue
        keys = tuple(aim.other_keys)
        if "update" in pending and column is not None:
            noop = sql.SQL("update {} set {c} = {c} where ctid = any(%s::tid[])").format(t, c=sql.Identifier(column))
            verdict = judge.write(
                "update", ctx.attempt(noop, (aim.own,)), ctx.attempt(noop, (aim.other,)), aim.other_tenant
            )
            ctx.add("update", table, aim.other_tenant, verdict, keys)
        if "delete" in pending:
            delete = sql.SQL("delete from {} where ctid = any(%s::tid[])").format(t)
            # Every picked own row: one of them may be the member's own membership, which it may not remove.
            verdict = judge.write(
                "delete", ctx.attempt(delete, (aim.own,)), ctx.attempt(delete, (aim.other,)), aim.other_tenant
            )
            ctx.add("delete", table, aim.other_tenant, verdict, keys)
        if "insert" in pending:
            _insert(ctx, aim)


def _insert(ctx: Context, aim: Aim) -> None:
    if isinstance(aim.insert_plans, str):
        ctx.add("insert", aim.table, aim.other_tenant, judge.inconclusive(f"cannot build a row: {aim.insert_plans}"))
        return
    # The first candidate the target accepts in the member's own tenant is the positive control. One its
    # policies refuse gives way to the next template; if every candidate is refused, the first refused
    # one is still tried against B (a leak is a leak; otherwise inconclusive: the control failed).
    chosen: tuple[Attempt, RowPlan] | None = None
    control: Attempt | None = None
    for own, other in aim.insert_plans:
        control = ctx.insert(own)
        if control.touched:
            chosen = control, other
            break
        if not control.constraint_error and chosen is None:
            chosen = control, other
    if chosen is not None:
        attempt = ctx.insert(chosen[1], read_back=aim.table.key)
        verdict = judge.write("insert", chosen[0], attempt, aim.other_tenant)
        ctx.add("insert", aim.table, aim.other_tenant, verdict, chosen[1].keys)
        return
    # Every candidate row broke a constraint of the target: say so, never pass silently.
    tried = len(aim.insert_plans)
    detail = f"cannot build a row the target accepts ({tried} candidate(s) tried; last: {control})"
    ctx.add("insert", aim.table, aim.other_tenant, judge.inconclusive(detail))
