"""Organizations: list, create, rename, delete, the personal workspace, and org-config."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from rollout_gate.reference_app.app.context import AppContext, db_errors
from rollout_gate.reference_app.app.db import Principal, Tx
from rollout_gate.reference_app.app.errors import bad_request, conflict, database_denied, forbidden, not_found

MAX_NAME = 100


@dataclass(frozen=True)
class Membership:
    organization_id: uuid.UUID
    name: str
    role: str
    personal: bool


async def membership(tx: Tx, principal: Principal, org_id: uuid.UUID) -> Membership:
    """The caller's active membership, or 404: a non-member learns nothing, not even that it exists."""
    row = await tx.one(
        """
        select o.id, o.name, m.role, o.personal_owner_id is not null as personal
        from public.memberships m join public.organizations o on o.id = m.organization_id
        where m.organization_id = %s and m.user_id = %s and m.status = 'active'
        """,
        (org_id, principal.user_id),
    )
    if row is None:
        raise not_found("organization")
    return Membership(row["id"], row["name"], row["role"], row["personal"])


def org_name(value: object) -> str:
    name = " ".join(str(value or "").split())
    if not name or len(name) > MAX_NAME:
        raise bad_request(f"a name of 1 to {MAX_NAME} characters is required")
    return name


async def list_mine(ctx: AppContext, principal: Principal) -> list[dict[str, Any]]:
    async with ctx.db.as_user(principal) as tx:
        return await tx.all(
            """
            select o.id, o.name, o.slug, m.role, o.personal_owner_id is not null as personal, o.created_at
            from public.memberships m join public.organizations o on o.id = m.organization_id
            where m.user_id = %s and m.status = 'active'
            order by (o.personal_owner_id is null), o.name, o.id
            """,
            (principal.user_id,),
        )


async def create(ctx: AppContext, principal: Principal, name: object) -> dict[str, Any]:
    clean = org_name(name)
    async with db_errors(), ctx.db.as_user(principal) as tx:
        # The organizations_creator_is_owner trigger makes the creator its owner.
        row = await tx.one(
            "insert into public.organizations (name, created_by) values (%s, %s) returning id, name, slug, created_at",
            (clean, principal.user_id),
        )
    assert row is not None
    return {**row, "role": "owner", "personal": False}


async def rename(ctx: AppContext, principal: Principal, org_id: uuid.UUID, name: object) -> dict[str, Any]:
    clean = org_name(name)
    async with db_errors(), ctx.db.as_user(principal) as tx:
        member = await membership(tx, principal, org_id)
        if not ctx.policy.can_rename_org(member.role):
            raise forbidden("only owners can rename the organization")
        row = await tx.one(
            "update public.organizations set name = %s where id = %s returning id, name, slug", (clean, org_id)
        )
        if row is None:
            raise database_denied()
    return {**row, "role": member.role, "personal": member.personal}


async def delete(ctx: AppContext, principal: Principal, org_id: uuid.UUID) -> None:
    async with db_errors(), ctx.db.as_user(principal) as tx:
        member = await membership(tx, principal, org_id)
        if not ctx.policy.can_delete_org(member.role):
            raise forbidden("only owners can delete the organization")
        if member.personal:
            raise conflict("personal_workspace", "a personal workspace cannot be deleted")
        deleted = await tx.run("delete from public.organizations where id = %s", (org_id,))
        if not deleted:
            # Visible to the caller a moment ago, yet the delete matched nothing: RLS refused it.
            raise database_denied()


async def ensure_personal_workspace(ctx: AppContext, principal: Principal) -> dict[str, Any]:
    """The runbook's lazy migration on first sign-in: idempotent, safe under concurrent calls."""
    async with db_errors(), ctx.db.as_user(principal) as tx:
        existed = await tx.value(
            "select exists (select 1 from public.organizations where personal_owner_id = %s)", (principal.user_id,)
        )
        org_id = await tx.value("select public.ensure_personal_workspace(%s)", (principal.user_id,))
        row = await tx.one("select id, name from public.organizations where id = %s", (org_id,))
    assert row is not None
    return {"id": row["id"], "name": row["name"], "personal": True, "role": "owner", "created": not existed}


async def config(ctx: AppContext, principal: Principal, org_id: uuid.UUID) -> dict[str, Any]:
    """org-config: what the front end needs to render an organization for this caller."""
    policy = ctx.policy
    async with ctx.db.as_user(principal) as tx:
        member = await membership(tx, principal, org_id)
        members = await tx.value(
            "select count(*) from public.memberships where organization_id = %s and status = 'active'", (org_id,)
        )
    return {
        "id": org_id,
        "name": member.name,
        "personal": member.personal,
        "role": member.role,
        "member_count": members,
        "permissions": {
            "write": policy.can_write(member.role),
            "invite": policy.can_invite(member.role),
            "manage_invitations": policy.can_manage_invitations(member.role),
            "rename": policy.can_rename_org(member.role),
            "delete": policy.can_delete_org(member.role) and not member.personal,
        },
        "features": {"invitations": True, "time_tracking": True},
    }
