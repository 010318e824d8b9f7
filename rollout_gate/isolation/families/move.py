"""move: setting its own row's tenant key to B is rejected, or stored as something else (control:
setting it to its own tenant). Uses `UPDATE ... WHERE CURRENT OF` (Context.set_current)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rollout_gate.isolation import judge

if TYPE_CHECKING:
    from rollout_gate.isolation.runner import Context


def probe(ctx: Context) -> None:
    if not ctx.writes:
        return
    for aim in ctx.aims:
        table = aim.table
        if table.is_tenant_table:
            continue  # its key is the tenant's own id
        if ctx.updatable(table) != table.key:
            ctx.add(
                "move",
                table,
                aim.other_tenant,
                judge.not_granted(ctx.model.member_role, f"{table.key} is not updatable"),
            )
            continue
        if not aim.own or aim.other_tenant is None:
            ctx.add("move", table, aim.other_tenant, judge.inconclusive(aim.why_no_rows()))
            continue
        control = ctx.set_current(aim, table.key, aim.key_type, aim.own_tenant, read_back=False)
        moved = ctx.set_current(aim, table.key, aim.key_type, aim.other_tenant, read_back=True)
        ctx.add(
            "move",
            table,
            aim.other_tenant,
            judge.write("move", control, moved, aim.other_tenant),
            tuple(aim.own_keys[:1]),
        )
