"""The v1 app: the single-tenant API the multi-tenant release replaced, served again after a rollback.

On the v1 schema (schema/10_v1.sql) every row belongs to the user who created it (`user_id`). The API is
the small part of v1 a rollback must keep working: health, sign-in, and each user's own clients,
projects and time entries, read as that user (RLS applies) and filtered on the owner explicitly.
It selects v1 columns only, so it runs on the v1 schema whatever a migration added.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from rollout_gate.reference_app.app import api
from rollout_gate.reference_app.app.context import db_errors
from rollout_gate.reference_app.app.errors import bad_request
from rollout_gate.reference_app.app.http import Json, bearer_principal, context, int_param

MAX_PAGE = 500
# URL segment -> (table, v1 columns): the only tables and columns v1 knows.
RESOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "clients": ("public.clients", ("id", "user_id", "name", "email", "created_at")),
    "projects": (
        "public.projects",
        ("id", "user_id", "client_id", "name", "hourly_rate", "archived", "created_at"),
    ),
    "time-entries": (
        "public.time_entries",
        ("id", "user_id", "project_id", "started_at", "ended_at", "note", "created_at"),
    ),
}


def _collection(segment: str) -> Route:
    table, columns = RESOURCES[segment]
    listing = f"select {', '.join(columns)} from {table} where user_id = %s order by created_at, id limit %s offset %s"
    counting = f"select count(*) from {table} where user_id = %s"

    async def handler(request: Request) -> Response:
        ctx, principal = context(request), bearer_principal(request)
        limit, offset = int_param(request, "limit", 50), int_param(request, "offset", 0)
        if not 1 <= limit <= MAX_PAGE or offset < 0:
            raise bad_request(f"limit must be 1..{MAX_PAGE} and offset at least 0")
        async with db_errors(), ctx.db.as_user(principal) as tx:
            total = await tx.value(counting, (principal.user_id,))
            items = await tx.all(listing, (principal.user_id, limit, offset))
        return Json({"items": items, "total": total, "limit": limit, "offset": offset})

    return Route(f"/api/{segment}", handler, methods=["GET"], name=f"v1_{segment}")


ROUTES: list[BaseRoute] = [
    Route("/health", api.health, methods=["GET"]),
    Route("/health/auth", api.health_auth, methods=["GET"]),
    Route("/metrics", api.metrics, methods=["GET"]),
    Route("/auth/sign-in", api.sign_in, methods=["POST"]),
    Route("/auth/me", api.me, methods=["GET"]),
    *(_collection(segment) for segment in RESOURCES),
]
