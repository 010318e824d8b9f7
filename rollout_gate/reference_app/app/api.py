"""The JSON API: /health, /auth/*, /api/*. Handlers are thin: parse, call a service, render."""

from __future__ import annotations

import hmac
import uuid

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from rollout_gate.reference_app.app import tokens
from rollout_gate.reference_app.app.db import Principal
from rollout_gate.reference_app.app.errors import bad_request
from rollout_gate.reference_app.app.faults import Fault
from rollout_gate.reference_app.app.http import Json, bearer_principal, context, int_param, json_body
from rollout_gate.reference_app.app.metrics import CONTENT_TYPE
from rollout_gate.reference_app.app.services import accounts, invitations, members, organizations, records


def _token_payload(request: Request, principal: Principal) -> dict:
    settings = context(request).settings
    return {
        "access_token": tokens.issue(principal, settings.jwt_secret, settings.token_ttl_s),
        "token_type": "bearer",
        "expires_in": settings.token_ttl_s,
        "user": {"id": principal.user_id, "email": principal.email},
    }


# -- health, metrics, auth ------------------------------------------------------------------------


async def health(request: Request) -> Response:
    ctx = context(request)
    async with ctx.db.as_anon() as tx:
        await tx.value("select 1")
    return Json({"status": "ok", "database": "ok"})


async def health_auth(request: Request) -> Response:
    """The auth path end to end: user store readable, tokens sign and verify; with a token, who it is."""
    ctx = context(request)
    if Fault.AUTH_HEALTH_BROKEN in ctx.policy.faults:
        return Json({"status": "degraded", "auth": "token signing failed"}, status_code=503)
    async with ctx.db.as_service() as tx:
        await tx.value("select exists (select 1 from auth.users)")
    probe = Principal(uuid.UUID(int=0), "probe@invalid")
    tokens.verify(tokens.issue(probe, ctx.settings.jwt_secret, 60), ctx.settings.jwt_secret)
    body: dict = {"status": "ok", "auth": "ok"}
    if request.headers.get("authorization"):
        principal = bearer_principal(request)
        body["user"] = {"id": principal.user_id, "email": principal.email}
    return Json(body)


async def admin_stats(request: Request) -> Response:
    """Migration counts for an operator (bearer ROLLOUT_APP_STATS_TOKEN), as a Convex HTTP action would answer
    them: what `invariants.http` checks on a target it cannot query with SQL."""
    ctx = context(request)
    expected = ctx.settings.stats_token
    if not expected:
        return Json({"error": "not found"}, status_code=404)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        return Json({"error": "a valid stats token is required"}, status_code=401)
    async with ctx.db.as_service() as tx:
        counts = await tx.one(
            """
            select (select count(*) from auth.users) as users,
                   (select count(*) from public.organizations) as organizations,
                   (select count(*) from public.organizations where personal_owner_id is not null)
                       as personal_workspaces,
                   (select count(*) from public.memberships where status = 'active') as memberships
            """
        )
    assert counts is not None
    body = {key: int(value) for key, value in counts.items()}
    if Fault.STATS_DISAGREE in ctx.policy.faults:
        body["personal_workspaces"] -= 1
    return Json(body)


async def metrics(request: Request) -> Response:
    if Fault.NO_METRICS in context(request).policy.faults:
        return PlainTextResponse("not found", status_code=404)
    return PlainTextResponse(request.app.state.metrics.render(), media_type=CONTENT_TYPE)


async def sign_in(request: Request) -> Response:
    body = await json_body(request)
    principal = await accounts.sign_in(context(request), body.get("email"), body.get("password"))
    return Json(_token_payload(request, principal))


async def sign_up(request: Request) -> Response:
    body = await json_body(request)
    principal = await accounts.sign_up(context(request), body.get("email"), body.get("password"))
    return Json(_token_payload(request, principal), status_code=201)


async def me(request: Request) -> Response:
    principal = bearer_principal(request)
    return Json({"id": principal.user_id, "email": principal.email})


async def delete_me(request: Request) -> Response:
    await accounts.delete_account(context(request), bearer_principal(request))
    return Response(status_code=204)


# -- organizations ---------------------------------------------------------------------------------


async def list_orgs(request: Request) -> Response:
    return Json({"items": await organizations.list_mine(context(request), bearer_principal(request))})


async def create_org(request: Request) -> Response:
    body = await json_body(request)
    row = await organizations.create(context(request), bearer_principal(request), body.get("name"))
    return Json(row, status_code=201)


async def rename_org(request: Request) -> Response:
    body = await json_body(request)
    org = request.path_params["org_id"]
    return Json(await organizations.rename(context(request), bearer_principal(request), org, body.get("name")))


async def delete_org(request: Request) -> Response:
    await organizations.delete(context(request), bearer_principal(request), request.path_params["org_id"])
    return Response(status_code=204)


async def ensure_personal_workspace(request: Request) -> Response:
    return Json(await organizations.ensure_personal_workspace(context(request), bearer_principal(request)))


async def org_config(request: Request) -> Response:
    return Json(await organizations.config(context(request), bearer_principal(request), request.path_params["org_id"]))


async def recent_entries(request: Request) -> Response:
    limit = int_param(request, "limit", 20)
    return Json(await records.recent_entries(context(request), bearer_principal(request), limit=limit))


# -- members and invitations -------------------------------------------------------------------------


async def list_members(request: Request) -> Response:
    org = request.path_params["org_id"]
    return Json({"items": await members.list_members(context(request), bearer_principal(request), org)})


async def change_member(request: Request) -> Response:
    body = await json_body(request)
    p = request.path_params
    ctx, principal = context(request), bearer_principal(request)
    return Json(await members.change_role(ctx, principal, p["org_id"], p["user_id"], body.get("role")))


async def remove_member(request: Request) -> Response:
    p = request.path_params
    await members.remove(context(request), bearer_principal(request), p["org_id"], p["user_id"])
    return Response(status_code=204)


async def list_invitations(request: Request) -> Response:
    org = request.path_params["org_id"]
    return Json({"items": await invitations.list_for(context(request), bearer_principal(request), org)})


async def create_invitation(request: Request) -> Response:
    body = await json_body(request)
    org = request.path_params["org_id"]
    ctx, principal = context(request), bearer_principal(request)
    row = await invitations.create(ctx, principal, org, body.get("email"), body.get("role"))
    return Json(row, status_code=201)


async def revoke_invitation(request: Request) -> Response:
    p = request.path_params
    return Json(await invitations.revoke(context(request), bearer_principal(request), p["org_id"], p["invitation_id"]))


async def resend_invitation(request: Request) -> Response:
    p = request.path_params
    return Json(await invitations.resend(context(request), bearer_principal(request), p["org_id"], p["invitation_id"]))


async def preview_invitation(request: Request) -> Response:
    return Json(await invitations.preview(context(request), request.path_params["token"]))


async def accept_invitation(request: Request) -> Response:
    body = await json_body(request)
    return Json(await invitations.accept(context(request), bearer_principal(request), body.get("token")))


# -- clients, projects, time entries --------------------------------------------------------------------


def _records_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for segment, kind in records.KINDS.items():

        async def collection(request: Request, kind: records.Kind = kind) -> Response:
            ctx, principal, org = context(request), bearer_principal(request), request.path_params["org_id"]
            if request.method == "POST":
                row = await records.create_record(ctx, principal, org, kind, await json_body(request))
                return Json(row, status_code=201)
            limit, offset = int_param(request, "limit", 50), int_param(request, "offset", 0)
            return Json(await records.list_records(ctx, principal, org, kind, limit=limit, offset=offset))

        async def item(request: Request, kind: records.Kind = kind) -> Response:
            ctx, principal = context(request), bearer_principal(request)
            org, record = request.path_params["org_id"], request.path_params["record_id"]
            if request.method == "PATCH":
                body = await json_body(request)
                return Json(await records.update_record(ctx, principal, org, kind, record, body))
            if request.method == "DELETE":
                await records.delete_record(ctx, principal, org, kind, record)
                return Response(status_code=204)
            return Json(await records.get_record(ctx, principal, org, kind, record))

        base = f"/api/organizations/{{org_id:uuid}}/{segment}"
        routes.append(Route(base, collection, methods=["GET", "POST"], name=segment))
        item_methods = ["GET", "PATCH", "DELETE"]
        routes.append(Route(base + "/{record_id:uuid}", item, methods=item_methods, name=segment + "_item"))
    return routes


# The same records addressed by a header instead of the path (`X-Organization-Id`), as many apps do: the
# harness's declared resources are proven on both addressings (api.resources[].tenant.by: header). Under
# /api/current-org/, not /api/<kind>: that is the v1 app's owner-scoped API, which rollback checks tell apart.
HEADER_ROUTES = "/api/current-org"
TENANT_HEADER = "X-Organization-Id"


def _header_org(request: Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.headers.get(TENANT_HEADER, ""))
    except ValueError:
        raise bad_request(f"the {TENANT_HEADER} header must name an organization id") from None


def _header_routes(segment: str) -> list[BaseRoute]:
    kind = records.KINDS[segment]

    async def collection(request: Request) -> Response:
        ctx, principal, org = context(request), bearer_principal(request), _header_org(request)
        if request.method == "POST":
            return Json(
                await records.create_record(ctx, principal, org, kind, await json_body(request)), status_code=201
            )
        limit, offset = int_param(request, "limit", 50), int_param(request, "offset", 0)
        return Json(await records.list_records(ctx, principal, org, kind, limit=limit, offset=offset))

    async def item(request: Request) -> Response:
        ctx, principal, org = context(request), bearer_principal(request), _header_org(request)
        record = request.path_params["record_id"]
        if request.method == "PATCH":
            return Json(await records.update_record(ctx, principal, org, kind, record, await json_body(request)))
        if request.method == "DELETE":
            await records.delete_record(ctx, principal, org, kind, record)
            return Response(status_code=204)
        return Json(await records.get_record(ctx, principal, org, kind, record))

    return [
        Route(f"{HEADER_ROUTES}/{segment}", collection, methods=["GET", "POST"], name=f"header_{segment}"),
        Route(
            f"{HEADER_ROUTES}/{segment}/{{record_id:uuid}}",
            item,
            methods=["GET", "PATCH", "DELETE"],
            name=f"header_{segment}_item",
        ),
    ]


ORG = "/api/organizations/{org_id:uuid}"

ROUTES: list[BaseRoute] = [
    Route("/health", health, methods=["GET"]),
    Route("/health/auth", health_auth, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/admin/stats", admin_stats, methods=["GET"]),
    Route("/auth/sign-in", sign_in, methods=["POST"]),
    Route("/auth/sign-up", sign_up, methods=["POST"]),
    Route("/auth/me", me, methods=["GET"]),
    Route("/auth/me", delete_me, methods=["DELETE"]),
    Route("/api/me/recent-entries", recent_entries, methods=["GET"]),
    Route("/api/organizations", list_orgs, methods=["GET"]),
    Route("/api/organizations", create_org, methods=["POST"]),
    Route("/api/organizations/ensure-personal-workspace", ensure_personal_workspace, methods=["POST"]),
    Route(ORG, rename_org, methods=["PATCH"]),
    Route(ORG, delete_org, methods=["DELETE"]),
    Route(ORG + "/config", org_config, methods=["GET"]),
    Route(ORG + "/members", list_members, methods=["GET"]),
    Route(ORG + "/members/{user_id:uuid}", change_member, methods=["PATCH"]),
    Route(ORG + "/members/{user_id:uuid}", remove_member, methods=["DELETE"]),
    Route(ORG + "/invitations", list_invitations, methods=["GET"]),
    Route(ORG + "/invitations", create_invitation, methods=["POST"]),
    Route(ORG + "/invitations/{invitation_id:uuid}/revoke", revoke_invitation, methods=["POST"]),
    Route(ORG + "/invitations/{invitation_id:uuid}/resend", resend_invitation, methods=["POST"]),
    Route("/api/invitations/accept", accept_invitation, methods=["POST"]),
    Route("/api/invitations/{token}", preview_invitation, methods=["GET"]),
    *_records_routes(),
    *_header_routes("clients"),
]
