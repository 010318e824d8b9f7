"""Clients, projects and time entries inside an organization: the tenant data.

Everything runs as the caller (RLS applies) and also filters on the organization explicitly: the
app's check comes first, RLS is the second line. When RLS refuses what the app allowed, the caller
gets a 500 (`database_denied`), never a silent success.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from rollout_gate.reference_app.app.context import AppContext, db_errors
from rollout_gate.reference_app.app.db import Principal, Tx
from rollout_gate.reference_app.app.errors import AppError, bad_request, database_denied, forbidden, not_found
from rollout_gate.reference_app.app.faults import Fault
from rollout_gate.reference_app.app.services.organizations import membership

MAX_PAGE = 500


def _text(limit: int) -> Callable[[Any], str | None]:
    def parse(value: Any) -> str | None:
        if value is None:
            return None
        text = str(value).strip()
        if len(text) > limit:
            raise bad_request(f"at most {limit} characters")
        return text or None

    return parse


def _uuid(value: Any) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise bad_request("not a valid id") from None


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise bad_request("not a number") from None
    if not number.is_finite() or number < 0 or number >= Decimal("1e8"):
        raise bad_request("out of range")
    return number


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "on", "yes")


def _datetime(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise bad_request("not an ISO 8601 date-time") from None


@dataclass(frozen=True)
class Field:
    name: str
    parse: Callable[[Any], Any]
    required: bool = False
    # The kind (URL segment) the value must reference inside the same organization.
    ref: str | None = None


@dataclass(frozen=True)
class Kind:
    segment: str
    table: str
    columns: tuple[str, ...]
    fields: tuple[Field, ...]
    order: str
    label: str = field(default="record")

    @property
    def select(self) -> str:
        return ", ".join(self.columns)


KINDS: dict[str, Kind] = {
    k.segment: k
    for k in (
        Kind(
            "clients",
            "public.clients",
            ("id", "organization_id", "user_id", "name", "email", "created_at"),
            (Field("name", _text(200), required=True), Field("email", _text(254))),
            "name, id",
            "client",
        ),
        Kind(
            "projects",
            "public.projects",
            ("id", "organization_id", "user_id", "client_id", "name", "hourly_rate", "archived", "created_at"),
            (
                Field("name", _text(200), required=True),
                Field("client_id", _uuid, ref="clients"),
                Field("hourly_rate", _decimal),
                Field("archived", _bool),
            ),
            "created_at desc, id",
            "project",
        ),
        Kind(
            "time-entries",
            "public.time_entries",
            ("id", "organization_id", "user_id", "project_id", "started_at", "ended_at", "note", "created_at"),
            (
                Field("project_id", _uuid, required=True, ref="projects"),
                Field("started_at", _datetime, required=True),
                Field("ended_at", _datetime),
                Field("note", _text(2000)),
            ),
            "started_at desc, id",
            "time entry",
        ),
    )
}


def kind_of(segment: str) -> Kind:
    try:
        return KINDS[segment]
    except KeyError:
        raise not_found("resource") from None


def _values(kind: Kind, body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("a JSON object is required")
    values: dict[str, Any] = {}
    for f in kind.fields:
        if f.name in body:
            values[f.name] = f.parse(body[f.name])
        if f.required and (creating or f.name in body) and values.get(f.name) is None:
            raise bad_request(f"{f.name} is required")
    if not values and not creating:
        raise bad_request("nothing to change")
    return values


async def _check_refs(tx: Tx, kind: Kind, org_id: uuid.UUID, values: dict[str, Any]) -> None:
    for f in kind.fields:
        if f.ref and values.get(f.name) is not None:
            ref = KINDS[f.ref]
            found = await tx.value(
                f"select 1 from {ref.table} where id = %s and organization_id = %s", (values[f.name], org_id)
            )
            if not found:
                raise bad_request(f"{f.name} is not a {ref.label} of this organization")


async def _writer(ctx: AppContext, tx: Tx, principal: Principal, org_id: uuid.UUID) -> None:
    member = await membership(tx, principal, org_id)
    if not ctx.policy.can_write(member.role):
        raise forbidden("viewers cannot change data")


async def list_records(
    ctx: AppContext, principal: Principal, org_id: uuid.UUID, kind: Kind, *, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    limit = max(1, min(limit, MAX_PAGE))
    if kind.segment == "projects":
        if Fault.FAILING_PROJECTS in ctx.policy.faults:
            raise AppError(500, "internal", "listing projects failed")
        if Fault.SLOW_PROJECTS in ctx.policy.faults:
            await asyncio.sleep(0.6)
    where = "organization_id = %(org)s"
    if Fault.HIDE_PRE_MIGRATION_DATA in ctx.policy.faults:
        where += " and created_at >= (select o.created_at from public.organizations o where o.id = %(org)s)"
    async with ctx.db.as_user(principal) as tx:
        await membership(tx, principal, org_id)
        total = await tx.value(f"select count(*) from {kind.table} where {where}", {"org": org_id})
        items = await tx.all(
            f"select {kind.select} from {kind.table} where {where} order by {kind.order} limit %(n)s offset %(skip)s",
            {"org": org_id, "n": limit, "skip": max(0, offset)},
        )
    return {"items": items, "total": total, "limit": limit, "offset": offset}


async def get_record(
    ctx: AppContext, principal: Principal, org_id: uuid.UUID, kind: Kind, record_id: uuid.UUID
) -> dict[str, Any]:
    if kind.segment == "projects" and Fault.SKIP_PROJECT_AUTHZ in ctx.policy.faults:
        # The admin-client bug: no membership check, no tenant filter, and RLS bypassed.
        async with ctx.db.as_service() as tx:
            row = await tx.one(f"select {kind.select} from {kind.table} where id = %s", (record_id,))
    else:
        async with ctx.db.as_user(principal) as tx:
            await membership(tx, principal, org_id)
            row = await tx.one(
                f"select {kind.select} from {kind.table} where id = %s and organization_id = %s", (record_id, org_id)
            )
    if row is None:
        raise not_found(kind.label)
    return row


async def create_record(
    ctx: AppContext, principal: Principal, org_id: uuid.UUID, kind: Kind, body: dict[str, Any]
) -> dict[str, Any]:
    values = _values(kind, body, creating=True)
    columns = ["organization_id", "user_id", *values]
    placeholders = ", ".join(["%s"] * len(columns))
    async with db_errors(), ctx.db.as_user(principal) as tx:
        await _writer(ctx, tx, principal, org_id)
        await _check_refs(tx, kind, org_id, values)
        row = await tx.one(
            f"insert into {kind.table} ({', '.join(columns)}) values ({placeholders}) returning {kind.select}",
            (org_id, principal.user_id, *values.values()),
        )
    assert row is not None
    return row


async def update_record(
    ctx: AppContext, principal: Principal, org_id: uuid.UUID, kind: Kind, record_id: uuid.UUID, body: dict[str, Any]
) -> dict[str, Any]:
    values = _values(kind, body, creating=False)
    assignments = ", ".join(f"{name} = %s" for name in values)
    async with db_errors(), ctx.db.as_user(principal) as tx:
        await _writer(ctx, tx, principal, org_id)
        await _check_refs(tx, kind, org_id, values)
        row = await tx.one(
            f"update {kind.table} set {assignments} where id = %s and organization_id = %s returning {kind.select}",
            (*values.values(), record_id, org_id),
        )
        if row is None:
            await _missing_or_denied(tx, kind, org_id, record_id)
    assert row is not None
    return row


async def delete_record(
    ctx: AppContext, principal: Principal, org_id: uuid.UUID, kind: Kind, record_id: uuid.UUID
) -> None:
    async with db_errors(), ctx.db.as_user(principal) as tx:
        await _writer(ctx, tx, principal, org_id)
        deleted = await tx.run(f"delete from {kind.table} where id = %s and organization_id = %s", (record_id, org_id))
        if not deleted:
            await _missing_or_denied(tx, kind, org_id, record_id)


async def _missing_or_denied(tx: Tx, kind: Kind, org_id: uuid.UUID, record_id: uuid.UUID) -> None:
    visible = await tx.value(f"select 1 from {kind.table} where id = %s and organization_id = %s", (record_id, org_id))
    raise database_denied() if visible else not_found(kind.label)


async def dashboard(ctx: AppContext, principal: Principal, org_id: uuid.UUID, *, entries: int = 20) -> dict[str, Any]:
    """The selected organization's projects and latest time entries, for the dashboard page."""
    scoped = Fault.DASHBOARD_IGNORES_ORG not in ctx.policy.faults
    # The bug the fault models: no tenant filter, so RLS returns every organization the user belongs to.
    where_p = "where p.organization_id = %(org)s" if scoped else ""
    where_e = "where e.organization_id = %(org)s" if scoped else ""
    async with ctx.db.as_user(principal) as tx:
        member = await membership(tx, principal, org_id)
        projects = await tx.all(
            f"select p.id, p.name, p.hourly_rate, p.archived, c.name as client from public.projects p "
            f"left join public.clients c on c.id = p.client_id {where_p} order by p.created_at desc, p.id limit 200",
            {"org": org_id},
        )
        recent = await tx.all(
            f"select e.id, e.started_at, e.ended_at, e.note, p.name as project from public.time_entries e "
            f"join public.projects p on p.id = e.project_id {where_e} order by e.started_at desc, e.id limit %(n)s",
            {"org": org_id, "n": entries},
        )
        counts = await tx.one(
            "select (select count(*) from public.projects where organization_id = %(org)s) as projects, "
            "(select count(*) from public.time_entries where organization_id = %(org)s) as time_entries, "
            "(select count(*) from public.clients where organization_id = %(org)s) as clients",
            {"org": org_id},
        )
    return {"membership": member, "projects": projects, "entries": recent, "counts": counts}


async def recent_entries(ctx: AppContext, principal: Principal, *, limit: int = 20) -> dict[str, Any]:
    """The signed-in user's latest time entries across all their organizations (the dashboard's feed).

    Written the Supabase way: `auth.uid()` and RLS decide whose rows these are, not a filter built
    from the token, so it is exactly as right as the identity the transaction carries.
    """
    async with ctx.db.as_user(principal) as tx:
        items = await tx.all(
            "select id, organization_id, project_id, started_at, ended_at, note from public.time_entries"
            " where user_id = auth.uid() order by started_at desc, id limit %s",
            (max(1, min(limit, MAX_PAGE)),),
        )
    return {"items": items}
