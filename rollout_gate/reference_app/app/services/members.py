"""Members of an organization: list, change role, remove, leave.

Through the service-role client: members' emails live in auth.users, which `authenticated` cannot
read, and the last-owner rule spans rows RLS would hide. So the app's checks here are the only line.
"""

from __future__ import annotations

import uuid
from typing import Any

from rollout_gate.reference_app.app.authz import ROLES
from rollout_gate.reference_app.app.context import AppContext, db_errors
from rollout_gate.reference_app.app.db import Principal, Tx
from rollout_gate.reference_app.app.errors import bad_request, conflict, forbidden, not_found


async def role_of(tx: Tx, org_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    return await tx.value(
        "select role from public.memberships where organization_id = %s and user_id = %s and status = 'active'",
        (org_id, user_id),
    )


async def caller_role(tx: Tx, principal: Principal, org_id: uuid.UUID) -> str:
    role = await role_of(tx, org_id, principal.user_id)
    if role is None:
        raise not_found("organization")
    return role


async def _owners_locked(tx: Tx, org_id: uuid.UUID) -> int:
    """Count active owners, locking their rows so two owners cannot both leave at once."""
    rows = await tx.all(
        "select user_id from public.memberships where organization_id = %s and role = 'owner' and status = 'active' "
        "for update",
        (org_id,),
    )
    return len(rows)


async def list_members(ctx: AppContext, principal: Principal, org_id: uuid.UUID) -> list[dict[str, Any]]:
    async with ctx.db.as_service() as tx:
        await caller_role(tx, principal, org_id)
        return await tx.all(
            """
            select m.user_id, u.email, m.role, m.status, m.created_at
            from public.memberships m join auth.users u on u.id = m.user_id
            where m.organization_id = %s
            order by array_position(array['owner', 'admin', 'member', 'viewer'], m.role), u.email
            """,
            (org_id,),
        )


async def change_role(
    ctx: AppContext, principal: Principal, org_id: uuid.UUID, user_id: uuid.UUID, role: object
) -> dict[str, Any]:
    new = str(role or "")
    if new not in ROLES:
        raise bad_request(f"role must be one of {', '.join(ROLES)}")
    async with db_errors(), ctx.db.as_service() as tx:
        actor = await caller_role(tx, principal, org_id)
        current = await role_of(tx, org_id, user_id)
        if current is None:
            raise not_found("member")
        if not ctx.policy.can_change_member(actor, current, new):
            raise forbidden("you cannot change this member's role")
        if current == "owner" and new != "owner" and await _owners_locked(tx, org_id) <= 1:
            raise conflict("last_owner", "an organization needs at least one owner")
        await tx.run(
            "update public.memberships set role = %s where organization_id = %s and user_id = %s",
            (new, org_id, user_id),
        )
    return {"user_id": user_id, "role": new}


async def remove(ctx: AppContext, principal: Principal, org_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Remove a member, or leave when `user_id` is the caller."""
    async with db_errors(), ctx.db.as_service() as tx:
        actor = await caller_role(tx, principal, org_id)
        target = await role_of(tx, org_id, user_id)
        if target is None:
            raise not_found("member")
        if not ctx.policy.can_remove_member(actor, target, self_removal=user_id == principal.user_id):
            raise forbidden("you cannot remove this member")
        if target == "owner" and not ctx.policy.last_owner_may_leave() and await _owners_locked(tx, org_id) <= 1:
            raise conflict("last_owner", "the last owner cannot leave; make someone else owner first")
        await tx.run("delete from public.memberships where organization_id = %s and user_id = %s", (org_id, user_id))
