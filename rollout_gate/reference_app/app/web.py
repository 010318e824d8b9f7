"""Server-rendered pages for the browser flows: sign in, dashboard, new organization, members, accept.

The pages call the same services as the JSON API, so the same checks (and fault flags) apply.
The session is the same signed token, in an HttpOnly, SameSite=Lax cookie.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from rollout_gate.reference_app.app import tokens
from rollout_gate.reference_app.app.db import Principal
from rollout_gate.reference_app.app.errors import AppError, not_found
from rollout_gate.reference_app.app.faults import Fault
from rollout_gate.reference_app.app.http import SESSION_COOKIE, context, cookie_principal
from rollout_gate.reference_app.app.services import accounts, invitations, members, organizations, records

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "web" / "templates"))


class SignInRequired(Exception):
    """Raised by pages that need a session; rendered as a redirect to the sign-in page."""


async def form(request: Request) -> dict[str, str]:
    """An urlencoded form body (python-multipart is not needed for that)."""
    parsed = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in parsed.items()}


def page(request: Request, template: str, status: int = 200, **values: Any) -> Response:
    user = cookie_principal(request)
    return TEMPLATES.TemplateResponse(request, template, {"user": user, **values}, status_code=status)


def signed_in(request: Request) -> Principal:
    principal = cookie_principal(request)
    if principal is None:
        raise SignInRequired()
    return principal


def safe_next(value: str | None) -> str:
    """Only local paths: an open redirect on the sign-in page would be a phishing gift."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/dashboard"


def redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


async def home(request: Request) -> Response:
    return redirect("/dashboard" if cookie_principal(request) else "/sign-in")


async def sign_in_page(request: Request) -> Response:
    return page(request, "sign_in.html", next=safe_next(request.query_params.get("next")))


async def sign_in(request: Request) -> Response:
    data = await form(request)
    target = safe_next(data.get("next"))
    try:
        principal = await accounts.sign_in(context(request), data.get("email"), data.get("password"))
    except AppError as exc:
        return page(request, "sign_in.html", status=exc.status, error=exc.message, next=target, email=data.get("email"))
    settings = context(request).settings
    response = redirect(target)
    response.set_cookie(
        SESSION_COOKIE,
        tokens.issue(principal, settings.jwt_secret, settings.token_ttl_s),
        max_age=settings.token_ttl_s,
        httponly=True,
        samesite="lax",
        secure=settings.public_url.startswith("https://"),
    )
    return response


async def sign_out(request: Request) -> Response:
    response = redirect("/sign-in")
    response.delete_cookie(SESSION_COOKIE)
    return response


async def dashboard(request: Request) -> Response:
    ctx, principal = context(request), signed_in(request)
    if Fault.DASHBOARD_BROKEN in ctx.policy.faults:
        raise AppError(500, "internal", "the dashboard failed to render")
    if Fault.SLOW_DASHBOARD in ctx.policy.faults:
        await asyncio.sleep(3.5)
    # The runbook's lazy migration: the first visit after the deploy creates the personal workspace.
    personal = await organizations.ensure_personal_workspace(ctx, principal)
    orgs = await organizations.list_mine(ctx, principal)
    selected = _uuid(request.query_params.get("org")) or personal["id"]
    data = await records.dashboard(ctx, principal, selected)
    member = data["membership"]
    return page(
        request,
        "dashboard.html",
        orgs=orgs,
        current=member,
        can_write=ctx.policy.can_write(member.role),
        can_see_members=True,
        projects=data["projects"],
        entries=data["entries"],
        counts=data["counts"],
        notice=request.query_params.get("notice"),
    )


async def create_project(request: Request) -> Response:
    ctx, principal = context(request), signed_in(request)
    org = request.path_params["org_id"]
    data = await form(request)
    await records.create_record(ctx, principal, org, records.KINDS["projects"], {"name": data.get("name")})
    return redirect(f"/dashboard?org={org}&notice={quote('Project created')}")


async def new_org_page(request: Request) -> Response:
    signed_in(request)
    return page(request, "new_org.html")


async def create_org(request: Request) -> Response:
    ctx, principal = context(request), signed_in(request)
    data = await form(request)
    try:
        org = await organizations.create(ctx, principal, data.get("name"))
    except AppError as exc:
        return page(request, "new_org.html", status=exc.status, error=exc.message, name=data.get("name"))
    return redirect(f"/dashboard?org={org['id']}&notice={quote('Organization created')}")


async def members_page(request: Request, *, status: int = 200, **extra: Any) -> Response:
    ctx, principal = context(request), signed_in(request)
    org = request.path_params["org_id"]
    config = await organizations.config(ctx, principal, org)
    people = await members.list_members(ctx, principal, org)
    pending: list[dict[str, Any]] = []
    if config["permissions"]["manage_invitations"]:
        pending = [i for i in await invitations.list_for(ctx, principal, org) if i["status"] == "pending"]
    return page(
        request,
        "members.html",
        status=status,
        org=config,
        members=people,
        invitations=pending,
        notice=request.query_params.get("notice"),
        **extra,
    )


async def invite(request: Request) -> Response:
    ctx, principal = context(request), signed_in(request)
    org = request.path_params["org_id"]
    data = await form(request)
    try:
        created = await invitations.create(ctx, principal, org, data.get("email"), data.get("role"))
    except AppError as exc:
        if exc.status in (401, 404):
            raise
        return await members_page(request, status=exc.status, error=exc.message, email=data.get("email"))
    return redirect(f"/orgs/{org}/members?notice={quote('Invitation sent to ' + created['email'])}")


async def accept_page(request: Request) -> Response:
    token = request.query_params.get("token", "")
    if cookie_principal(request) is None:
        return redirect("/sign-in?next=" + quote(f"/invitations/accept?token={token}", safe=""))
    try:
        invitation = await invitations.preview(context(request), token)
    except AppError as exc:
        return page(request, "accept.html", status=exc.status, error="This invitation link is not valid.")
    return page(request, "accept.html", invitation=invitation, token=token)


async def accept(request: Request) -> Response:
    ctx, principal = context(request), signed_in(request)
    data = await form(request)
    try:
        result = await invitations.accept(ctx, principal, data.get("token"))
    except AppError as exc:
        return page(request, "accept.html", status=exc.status, error=exc.message)
    return redirect(f"/dashboard?org={result['organization_id']}&notice={quote('Invitation accepted')}")


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        raise not_found("organization") from None


ROUTES: list[BaseRoute] = [
    Route("/", home, methods=["GET"]),
    Route("/sign-in", sign_in_page, methods=["GET"]),
    Route("/sign-in", sign_in, methods=["POST"]),
    Route("/sign-out", sign_out, methods=["POST"]),
    Route("/dashboard", dashboard, methods=["GET"]),
    Route("/orgs/new", new_org_page, methods=["GET"]),
    Route("/orgs", create_org, methods=["POST"]),
    Route("/orgs/{org_id:uuid}/projects", create_project, methods=["POST"]),
    Route("/orgs/{org_id:uuid}/members", members_page, methods=["GET"]),
    Route("/orgs/{org_id:uuid}/invitations", invite, methods=["POST"]),
    Route("/invitations/accept", accept_page, methods=["GET"]),
    Route("/invitations/accept", accept, methods=["POST"]),
]
