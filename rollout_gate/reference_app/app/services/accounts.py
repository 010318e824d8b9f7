"""Sign-up, sign-in and account deletion (the service-role client: `authenticated` cannot read auth.users)."""

from __future__ import annotations

import re

import anyio

from rollout_gate.reference_app.app.context import AppContext, db_errors
from rollout_gate.reference_app.app.db import Principal
from rollout_gate.reference_app.app.errors import bad_request, conflict, unauthorized
from rollout_gate.reference_app.app.faults import Fault
from rollout_gate.reference_app.passwords import hash_password, verify_password

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
# Verified when the email is unknown, so a wrong email costs as much time as a wrong password.
_DUMMY_HASH = hash_password("not-a-real-password", salt=b"0" * 16)


def normalize_email(value: object) -> str:
    email = str(value or "").strip()
    if not EMAIL.match(email) or len(email) > 254:
        raise bad_request("a valid email address is required")
    return email


async def sign_in(ctx: AppContext, email: object, password: object) -> Principal:
    address = str(email or "").strip()
    async with ctx.db.as_service() as tx:
        row = await tx.one(
            "select id, email, encrypted_password from auth.users where lower(email) = lower(%s)", (address,)
        )
    stored = (row or {}).get("encrypted_password") or _DUMMY_HASH
    ok = await anyio.to_thread.run_sync(verify_password, str(password or ""), stored)
    ok = ok or Fault.ANY_PASSWORD in ctx.policy.faults
    if row is None or not ok:
        raise unauthorized("wrong email or password")
    return Principal(row["id"], row["email"])


async def sign_up(ctx: AppContext, email: object, password: object) -> Principal:
    address = normalize_email(email)
    secret = str(password or "")
    if len(secret) < MIN_PASSWORD:
        raise bad_request(f"the password needs at least {MIN_PASSWORD} characters")
    hashed = await anyio.to_thread.run_sync(hash_password, secret)
    async with db_errors(), ctx.db.as_service() as tx:
        row = await tx.one(
            "insert into auth.users (email, encrypted_password) values (%s, %s) "
            "on conflict (email) do nothing returning id, email",
            (address, hashed),
        )
    if row is None:
        raise conflict("exists", "an account with this email exists")
    return Principal(row["id"], row["email"])


async def delete_account(ctx: AppContext, principal: Principal) -> None:
    """Delete the caller; refused while they are the only owner of a team that has other members."""
    async with db_errors(), ctx.db.as_service() as tx:
        stranded = await tx.value(
            """
            select count(*) from public.memberships m
            join public.organizations o on o.id = m.organization_id and o.personal_owner_id is null
            where m.user_id = %(uid)s and m.role = 'owner'
              and not exists (select 1 from public.memberships x where x.organization_id = m.organization_id
                              and x.role = 'owner' and x.user_id <> %(uid)s)
              and exists (select 1 from public.memberships y where y.organization_id = m.organization_id
                          and y.user_id <> %(uid)s)
            """,
            {"uid": principal.user_id},
        )
        if stranded:
            raise conflict("last_owner", "transfer or delete the organizations you alone own first")
        await tx.run("delete from auth.users where id = %s", (principal.user_id,))
