"""blind_update / blind_delete: the UPDATE/DELETE policies, replayed on copies of the member's own and
of B's rows (replay.py), accept only its own: an unfiltered statement is not saved by the SELECT policies.
Nothing is written, so these run where writes are forbidden too."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rollout_gate.isolation import judge
from rollout_gate.isolation.replay import replay_query, using_predicate
from rollout_gate.isolation.results import OK, Attempt

if TYPE_CHECKING:
    from rollout_gate.isolation.runner import Context

_BLIND = (("blind_update", "UPDATE"), ("blind_delete", "DELETE"))


def probe(ctx: Context) -> None:
    role = ctx.model.member_role
    for aim in ctx.aims:
        table, keys = aim.table, tuple(aim.other_keys)
        for op, command in _BLIND:
            granted = ctx.updatable(table) is not None if command == "UPDATE" else ctx.granted(table, "DELETE")
            if not granted:
                ctx.add(op, table, aim.other_tenant, judge.not_granted(role))
            elif not ctx.model.table(table.name).rls_enabled:
                ctx.add(op, table, aim.other_tenant, judge.inconclusive("RLS is off: no policy to replay"))
            elif aim.own_rows == "[]" or aim.other_rows == "[]":
                ctx.add(op, table, aim.other_tenant, judge.inconclusive(aim.why_no_rows()))
            else:
                predicate = using_predicate(ctx.model, table, command, role)
                if predicate is None:
                    verdict = judge.Judgement(OK, f"no {command} policy lets any row through")
                    ctx.add(op, table, aim.other_tenant, verdict)
                    continue
                got = ctx.fetch(replay_query(table, predicate), {"own": aim.own_rows, "other": aim.other_rows})
                if isinstance(got, Attempt):
                    ctx.add(op, table, aim.other_tenant, judge.inconclusive(f"policy replay failed: {got}"))
                    continue
                own, other = got
                ctx.add(
                    op, table, aim.other_tenant, judge.blind(command, table.key, own, other, aim.other_tenant), keys
                )
