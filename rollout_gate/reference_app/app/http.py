"""Request and response helpers shared by the JSON API and the HTML pages."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from rollout_gate.reference_app.app import tokens
from rollout_gate.reference_app.app.context import AppContext
from rollout_gate.reference_app.app.db import Principal
from rollout_gate.reference_app.app.errors import bad_request, unauthorized

SESSION_COOKIE = "rg_session"


def context(request: Request) -> AppContext:
    return request.app.state.ctx  # type: ignore[no-any-return]


def _default(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


class Json(JSONResponse):
    """JSON with ids, timestamps and decimals rendered the way clients expect."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, default=_default, ensure_ascii=False, separators=(",", ":")).encode()


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise bad_request("the body must be JSON") from None
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    return body


def bearer_principal(request: Request) -> Principal:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("a bearer token is required")
    return _verify(request, token.strip())


def cookie_principal(request: Request) -> Principal | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return _verify(request, token)
    except Exception:
        return None


def _verify(request: Request, token: str) -> Principal:
    try:
        return tokens.verify(token, context(request).settings.jwt_secret)
    except tokens.InvalidToken:
        raise unauthorized("the token is invalid or expired") from None


def int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise bad_request(f"{name} must be an integer") from None
