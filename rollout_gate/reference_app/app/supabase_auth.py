"""A Supabase-Auth-shaped sign-in (`POST /auth/v1/token?grant_type=password|refresh_token`), so the harness's
`supabase` provider is proven against a real endpoint: the `apikey` header is required there, and any request
that carries one must carry the right one (as Supabase's gateway refuses a wrong key before the app sees it).

Refresh tokens are signed like access tokens but with a role of their own, so one never passes for the other.
"""

from __future__ import annotations

import hmac
import time
import uuid
from typing import Any

import jwt
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from rollout_gate.reference_app.app import tokens
from rollout_gate.reference_app.app.db import Principal
from rollout_gate.reference_app.app.errors import AppError
from rollout_gate.reference_app.app.http import Json, context, json_body
from rollout_gate.reference_app.app.services import accounts

TOKEN_PATH = "/auth/v1/token"
REFRESH_ROLE = "refresh"
REFRESH_TTL_S = 7 * 24 * 3600


def _key_ok(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _invalid_key() -> Response:
    return Json({"message": "Invalid API key", "hint": "Double check your Supabase `anon` or `service_role` API key."},
                status_code=401)  # fmt: skip


def _invalid_grant(description: str) -> Response:
    return Json({"error": "invalid_grant", "error_description": description}, status_code=400)


def _refresh_token(principal: Principal, secret: str) -> str:
    now = int(time.time())
    claims = {"sub": str(principal.user_id), "email": principal.email, "role": REFRESH_ROLE,
              "iss": tokens.ISSUER, "iat": now, "exp": now + REFRESH_TTL_S, "jti": uuid.uuid4().hex}  # fmt: skip
    return jwt.encode(claims, secret, algorithm=tokens.ALGORITHM)


def _refreshed(token: object, secret: str) -> Principal | None:
    try:
        claims = jwt.decode(str(token or ""), secret, algorithms=[tokens.ALGORITHM], issuer=tokens.ISSUER,
                            options={"require": ["sub", "exp", "role"]})  # fmt: skip
        if claims["role"] != REFRESH_ROLE:
            return None
        return Principal(uuid.UUID(claims["sub"]), str(claims.get("email", "")))
    except (jwt.PyJWTError, ValueError, KeyError):
        return None


async def token(request: Request) -> Response:
    ctx = context(request)
    if not _key_ok(request.headers.get("apikey"), ctx.settings.anon_key):
        return _invalid_key()
    grant = request.query_params.get("grant_type")
    body = await json_body(request)
    if grant == "password":
        try:
            principal = await accounts.sign_in(ctx, body.get("email"), body.get("password"))
        except AppError as exc:
            if exc.status != 401:
                raise
            return _invalid_grant("Invalid login credentials")
    elif grant == "refresh_token":
        refreshed = _refreshed(body.get("refresh_token"), ctx.settings.jwt_secret)
        if refreshed is None:
            return _invalid_grant("Invalid Refresh Token")
        principal = refreshed
    else:
        return Json({"error": "unsupported_grant_type", "error_description": "grant_type must be password or "
                     "refresh_token"}, status_code=400)  # fmt: skip
    ttl = ctx.settings.token_ttl_s
    payload: dict[str, Any] = {
        "access_token": tokens.issue(principal, ctx.settings.jwt_secret, ttl),
        "token_type": "bearer",
        "expires_in": ttl,
        "expires_at": int(time.time()) + ttl,
        "refresh_token": _refresh_token(principal, ctx.settings.jwt_secret),
        "user": {"id": principal.user_id, "email": principal.email},
    }
    return Json(payload)


class ApiKeyMiddleware:
    """A request that carries an `apikey` header must carry the app's key (401 otherwise), wherever it goes."""

    def __init__(self, app: ASGIApp, *, key: str) -> None:
        self.app = app
        self.key = key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = [v.decode("latin-1") for k, v in scope["headers"] if k == b"apikey"]
            if given and not all(_key_ok(value, self.key) for value in given):
                await _invalid_key()(scope, receive, send)
                return
        await self.app(scope, receive, send)


ROUTES: list[BaseRoute] = [Route(TOKEN_PATH, token, methods=["POST"])]
