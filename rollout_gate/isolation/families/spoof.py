"""spoof_insert / spoof_update: a column referencing the user table cannot be set to another user, judged
by what the target stored (a trigger stamping `created_by = auth.uid()` is no leak). Columns listed in
`tenancy.probes.ownership_allow` are not probed. Runs only where writes are allowed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rollout_gate.isolation import judge
from rollout_gate.isolation.aims import Aim
from rollout_gate.isolation.results import Attempt
from rollout_gate.isolation.rowgen import RowPlan

if TYPE_CHECKING:
    from rollout_gate.isolation.runner import Context


def probe(ctx: Context) -> None:
    if not ctx.writes:
        return
    assert ctx.member is not None
    for aim in ctx.aims:
        meta = ctx.model.table(aim.table.name)
        for column in ctx.model.user_columns(aim.table.name):
            if ctx.granted(aim.table, "INSERT") and not ctx.allowed(aim.table.name, column, "insert"):
                _spoof_insert(ctx, aim, column)
            updatable = column in meta.updatable_columns.get(ctx.model.member_role, frozenset())
            if updatable and not ctx.allowed(aim.table.name, column, "update"):
                _spoof_update(ctx, aim, column, meta.columns[column].type)


def _spoof_insert(ctx: Context, aim: Aim, column: str) -> None:
    def gap(why: str) -> None:
        ctx.add("spoof_insert", aim.table, None, judge.inconclusive(f"{column}: {why}"), column=column)

    if not aim.own:
        return gap(aim.why_no_rows())
    if aim.outsider is None:
        return gap("no user outside the member's tenant to attribute the row to")
    if isinstance(aim.own_plans, str):
        return gap(f"cannot build a row: {aim.own_plans}")
    # The first candidate the target accepts as the member's own row is the positive control. One its
    # policies refuse (a personal account a member may not create) gives way to the next template; if
    # every candidate is refused, the first refused one is still tried forged (a leak is a leak).
    chosen: tuple[Attempt, RowPlan] | None = None
    control: Attempt | None = None
    for (own,) in aim.own_plans:
        control = ctx.insert(own)
        if control.touched:
            chosen = control, own
            break
        if not control.constraint_error and chosen is None:
            chosen = control, own
    if chosen is None:
        tried = len(aim.own_plans)
        return gap(f"cannot build a row the target accepts ({tried} candidate(s) tried; last: {control})")
    forged = chosen[1].with_value(column, aim.outsider)
    attempt = ctx.insert(forged, read_back=column)
    verdict = judge.spoof("spoof_insert", column, chosen[0], attempt, aim.outsider)
    ctx.add("spoof_insert", aim.table, None, verdict, forged.keys, column)
    return None


def _spoof_update(ctx: Context, aim: Aim, column: str, type_: str) -> None:
    assert ctx.member is not None
    if not aim.own or aim.outsider is None:
        why = aim.why_no_rows() if not aim.own else "no user outside the member's tenant"
        ctx.add("spoof_update", aim.table, None, judge.inconclusive(f"{column}: {why}"), column=column)
        return
    control = ctx.set_current(aim, column, type_, ctx.member.user_id, read_back=False)
    attempt = ctx.set_current(aim, column, type_, aim.outsider, read_back=True)
    verdict = judge.spoof("spoof_update", column, control, attempt, aim.outsider)
    ctx.add("spoof_update", aim.table, None, verdict, tuple(aim.own_keys[:1]), column)
