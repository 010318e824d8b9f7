"""Assemble the Starlette app: routes, error rendering, metrics, and the database pool's lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from rollout_gate.reference_app.app import api, supabase_auth, v1, web
from rollout_gate.reference_app.app.authz import Policy
from rollout_gate.reference_app.app.context import AppContext
from rollout_gate.reference_app.app.db import Database
from rollout_gate.reference_app.app.errors import AppError
from rollout_gate.reference_app.app.faults import Fault
from rollout_gate.reference_app.app.http import Json
from rollout_gate.reference_app.app.mailer import Mailer
from rollout_gate.reference_app.app.metrics import MetricsMiddleware, Registry
from rollout_gate.reference_app.app.settings import Settings

log = logging.getLogger("reference_app")
API_PREFIXES = ("/api/", "/auth/", "/health", "/metrics")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIXES)


async def app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    if exc.code == "database_denied":
        log.error("database refused %s %s after the app allowed it", request.method, request.url.path)
    if _wants_json(request):
        return Json({"error": exc.code, "message": exc.message}, status_code=exc.status)
    if exc.status == 401:
        return _to_sign_in(request)
    return web.page(request, "error.html", status=exc.status, status_code=exc.status, message=exc.message)


async def sign_in_required(request: Request, exc: Exception) -> Response:
    return _to_sign_in(request)


def _to_sign_in(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/sign-in?next=" + quote(target, safe=""), status_code=303)


def create_app(settings: Settings) -> Starlette:
    db = Database(settings.database_url, min_size=settings.pool_min, max_size=settings.pool_max)
    db.local_identity = Fault.SESSION_LEVEL_SET not in settings.faults
    ctx = AppContext(
        settings=settings,
        db=db,
        policy=Policy(settings.faults),
        mailer=Mailer(settings.smtp_host, settings.smtp_port, settings.mail_from),
    )
    registry = Registry()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await db.open()
        log.info("serving the %s app", settings.schema)
        if settings.faults:
            log.warning("fault flags active: %s", settings.faults)
        try:
            yield
        finally:
            await db.close()

    # v1: the single-tenant API only (no pages, no organizations), as the release before v2 served it.
    routes = [*v1.ROUTES] if settings.schema == "v1" else [*api.ROUTES, *web.ROUTES]
    routes += supabase_auth.ROUTES  # both versions sign in the Supabase way too (`target.auth.kind: supabase`)
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(MetricsMiddleware, registry=registry),
            Middleware(supabase_auth.ApiKeyMiddleware, key=settings.anon_key),
        ],
        exception_handlers={AppError: app_error, web.SignInRequired: sign_in_required},
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.metrics = registry
    return app
