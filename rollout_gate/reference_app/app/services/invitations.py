"""Invitations: create (and email), list, revoke, resend, preview, accept.

Managed through the service-role client: the invitee is not a member yet, so RLS would hide the
invitation from them. Acceptance therefore checks, in the app, everything `accept_invitation()` in
the schema checks (token, revocation, single use, expiry, the invited email), one line each.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Any
from urllib.parse import quote

from rollout_gate.reference_app.app.authz import INVITABLE_ROLES
from rollout_gate.reference_app.app.context import AppContext, db_errors
from rollout_gate.reference_app.app.db import Principal, Tx
from rollout_gate.reference_app.app.errors import bad_request, conflict, forbidden, gone, not_found
from rollout_gate.reference_app.app.faults import Fault
from rollout_gate.reference_app.app.services.accounts import normalize_email
from rollout_gate.reference_app.app.services.members import caller_role

STATUS_SQL = """
case when i.revoked_at is not null then 'revoked'
     when i.accepted_at is not null then 'accepted'
     when i.expires_at <= now() then 'expired'
     else 'pending' end
"""
COLUMNS = f"i.id, i.email, i.role, i.expires_at, i.created_at, i.accepted_at, i.revoked_at, {STATUS_SQL} as status"


def token_hash(token: str) -> str:
    """As the schema stores it: encode(sha256(token), 'hex')."""
    return hashlib.sha256(token.encode()).hexdigest()


def accept_url(ctx: AppContext, token: str) -> str:
    return f"{ctx.settings.public_url}/invitations/accept?token={quote(token)}"


async def _email(ctx: AppContext, to: str, org: str, role: str, token: str) -> bool:
    link = accept_url(ctx, token)
    text = (
        f"You have been invited to join {org} as {role} on Time Tracker.\n\n"
        f"Accept the invitation: {link}\n\n"
        f"The link works once and expires in {ctx.settings.invitation_ttl_days} days.\n"
    )
    html = (
        f"<p>You have been invited to join <b>{_escape(org)}</b> as {role} on Time Tracker.</p>"
        f'<p><a href="{link}">Accept the invitation</a></p>'
    )
    return await ctx.mailer.send(to, f"You're invited to join {org}", text, html)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def _manager(ctx: AppContext, tx: Tx, principal: Principal, org_id: uuid.UUID) -> str:
    role = await caller_role(tx, principal, org_id)
    if not ctx.policy.can_manage_invitations(role):
        raise forbidden("only owners and admins manage invitations")
    return role


async def create(
    ctx: AppContext, principal: Principal, org_id: uuid.UUID, email: object, role: object
) -> dict[str, Any]:
    address = normalize_email(email)
    invited_role = str(role or "member")
    if invited_role not in INVITABLE_ROLES:
        raise bad_request(f"role must be one of {', '.join(INVITABLE_ROLES)}")
    token = secrets.token_urlsafe(32)
    async with db_errors(), ctx.db.as_service() as tx:
        actor = await caller_role(tx, principal, org_id)
        if not ctx.policy.can_invite(actor):
            raise forbidden("only owners and admins can invite")
        member = await tx.value(
            "select 1 from public.memberships m join auth.users u on u.id = m.user_id "
            "where m.organization_id = %s and lower(u.email) = lower(%s)",
            (org_id, address),
        )
        if member:
            raise conflict("already_member", "this person is already a member")
        pending = await tx.value(
            "select 1 from public.invitations where organization_id = %s and lower(email) = lower(%s) "
            "and revoked_at is null and accepted_at is null and expires_at > now()",
            (org_id, address),
        )
        if pending:
            raise conflict("already_invited", "this person has a pending invitation; resend it instead")
        row = await tx.one(
            f"""
            insert into public.invitations as i (organization_id, email, role, token_hash, invited_by, expires_at)
            values (%s, %s, %s, %s, %s, now() + make_interval(days => %s))
            returning {COLUMNS}
            """,
            (org_id, address, invited_role, token_hash(token), principal.user_id, ctx.settings.invitation_ttl_days),
        )
        org = await tx.value("select name from public.organizations where id = %s", (org_id,))
    assert row is not None
    sent = await _email(ctx, address, org, invited_role, token)
    return {**row, "email_sent": sent}


async def list_for(ctx: AppContext, principal: Principal, org_id: uuid.UUID) -> list[dict[str, Any]]:
    async with ctx.db.as_service() as tx:
        await _manager(ctx, tx, principal, org_id)
        return await tx.all(
            f"select {COLUMNS} from public.invitations i where i.organization_id = %s order by i.created_at, i.id",
            (org_id,),
        )


async def _one(tx: Tx, org_id: uuid.UUID, invitation_id: uuid.UUID, *, lock: bool = False) -> dict[str, Any]:
    row = await tx.one(
        f"select {COLUMNS} from public.invitations i where i.id = %s and i.organization_id = %s"
        + (" for update" if lock else ""),
        (invitation_id, org_id),
    )
    if row is None:
        raise not_found("invitation")
    return row


async def revoke(ctx: AppContext, principal: Principal, org_id: uuid.UUID, invitation_id: uuid.UUID) -> dict:
    async with db_errors(), ctx.db.as_service() as tx:
        await _manager(ctx, tx, principal, org_id)
        row = await _one(tx, org_id, invitation_id, lock=True)
        if row["status"] == "accepted":
            raise conflict("accepted", "the invitation was already accepted")
        await tx.run(
            "update public.invitations set revoked_at = coalesce(revoked_at, now()) where id = %s", (invitation_id,)
        )
        return await _one(tx, org_id, invitation_id)


async def resend(ctx: AppContext, principal: Principal, org_id: uuid.UUID, invitation_id: uuid.UUID) -> dict:
    """A new link (the old one stops working) and a fresh expiry."""
    token = secrets.token_urlsafe(32)
    async with db_errors(), ctx.db.as_service() as tx:
        await _manager(ctx, tx, principal, org_id)
        row = await _one(tx, org_id, invitation_id, lock=True)
        if row["status"] in ("accepted", "revoked"):
            raise conflict(row["status"], f"the invitation was {row['status']}")
        await tx.run(
            "update public.invitations set token_hash = %s, expires_at = now() + make_interval(days => %s) "
            "where id = %s",
            (token_hash(token), ctx.settings.invitation_ttl_days, invitation_id),
        )
        row = await _one(tx, org_id, invitation_id)
        org = await tx.value("select name from public.organizations where id = %s", (org_id,))
    sent = await _email(ctx, row["email"], org, row["role"], token)
    return {**row, "email_sent": sent}


async def preview(ctx: AppContext, token: str) -> dict[str, Any]:
    """What the accept page shows the holder of a link (no ids)."""
    async with ctx.db.as_service() as tx:
        row = await tx.one(
            f"select {COLUMNS}, o.name as organization from public.invitations i "
            "join public.organizations o on o.id = i.organization_id where i.token_hash = %s",
            (token_hash(token),),
        )
    if row is None:
        raise not_found("invitation")
    return {"organization": row["organization"], "email": row["email"], "role": row["role"], "status": row["status"]}


async def accept(ctx: AppContext, principal: Principal, token: object) -> dict[str, Any]:
    faults = ctx.policy.faults
    async with db_errors(), ctx.db.as_service() as tx:
        row = await tx.one(
            f"select {COLUMNS}, i.organization_id from public.invitations i where i.token_hash = %s for update",
            (token_hash(str(token or "")),),
        )
        if row is None:
            raise not_found("invitation")
        if row["revoked_at"] is not None and Fault.REVOKED_INVITES_ACCEPTED not in faults:
            raise gone("this invitation was revoked")
        if row["accepted_at"] is not None and Fault.REUSABLE_INVITES not in faults:
            raise gone("this invitation was already used")
        expired = await tx.value("select %s::timestamptz <= now()", (row["expires_at"],))
        if expired and Fault.EXPIRED_INVITES_ACCEPTED not in faults:
            raise gone("this invitation has expired")
        email = await tx.value("select email from auth.users where id = %s", (principal.user_id,))
        if str(email or "").lower() != row["email"].lower() and Fault.INVITE_ANY_EMAIL not in faults:
            raise forbidden("this invitation is for another email address")
        # An existing member keeps their role: an invitation never demotes or promotes.
        await tx.run(
            "insert into public.memberships (organization_id, user_id, role) values (%s, %s, %s) "
            "on conflict (organization_id, user_id) do nothing",
            (row["organization_id"], principal.user_id, row["role"]),
        )
        await tx.run(
            "update public.invitations set accepted_at = now(), accepted_by = %s where id = %s",
            (principal.user_id, row["id"]),
        )
        role = await tx.value(
            "select role from public.memberships where organization_id = %s and user_id = %s",
            (row["organization_id"], principal.user_id),
        )
    return {"organization_id": row["organization_id"], "role": role}
