"""A small httpx client for the target's API: base URL, bearer tokens, and readable failures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

import httpx

# Response keys whose string values are credentials the app issued (sign-in, sign-up, refresh).
TOKEN_KEYS = frozenset({"access_token", "refresh_token", "id_token"})


class ApiError(AssertionError):
    """An API call answered something other than what the caller needed; one line, no token."""


def describe(response: httpx.Response, limit: int = 300) -> str:
    """`POST /api/x -> 500: {"error": ...}`: what a failure message needs, never the Authorization header."""
    body = response.text.strip().replace("\n", " ")
    if len(body) > limit:
        body = body[:limit] + "…"
    request = response.request
    return f"{request.method} {request.url.raw_path.decode()} -> {response.status_code}: {body or '(empty)'}"


def expect(response: httpx.Response, *statuses: int) -> Any:
    """The JSON body of a response with one of `statuses`, else ApiError."""
    if response.status_code not in statuses:
        wanted = " or ".join(map(str, statuses))
        raise ApiError(f"expected {wanted}: {describe(response)}")
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise ApiError(f"expected JSON: {describe(response)}") from None


@dataclass(frozen=True)
class Session:
    """A signed-in user: the bearer token plus any header its provider adds to every request (`apikey`)."""

    email: str
    token: str = field(repr=False)
    user_id: str | None = None
    # (name, value) pairs sent with every request of this session besides `Authorization: Bearer`.
    extra_headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    # For providers that refresh (supabase, oidc): the refresh token, a secret like the access token.
    refresh_token: str | None = field(default=None, repr=False)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **dict(self.extra_headers)}


def issued_tokens(body: Any) -> list[str]:
    """The string values under TOKEN_KEYS anywhere in a JSON body."""
    found, stack = [], [body]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            found += [v for k, v in value.items() if k in TOKEN_KEYS and isinstance(v, str)]
            stack += list(value.values())
        elif isinstance(value, list):
            stack += value
    return found


class ApiClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        on_secret: Callable[[str], None] | None = None,
    ) -> None:
        """`on_secret` (the run's `Redactor.add`) is given every token a response issues, as it arrives."""
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport)
        self.on_secret = on_secret

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        return str(self.http.base_url).rstrip("/")

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        session: Session | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        merged = dict(session.headers()) if session is not None else {}
        merged.update(headers or {})
        if token:
            merged["Authorization"] = f"Bearer {token}"
        response = self.http.request(method, path, json=json, params=params, headers=merged)
        if self.on_secret is not None and b"_token" in response.content:
            try:
                body = response.json()
            except ValueError:
                body = None
            for value in issued_tokens(body):
                self.on_secret(value)
        return response

    def sign_in(self, email: str, password: str, *, path: str = "/auth/sign-in") -> Session:
        body = expect(self.request("POST", path, json={"email": email, "password": password}), 200)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise ApiError(f"POST {path}: no access_token in the response")
        user = body.get("user") or {}
        return Session(email=email, token=str(token), user_id=str(user["id"]) if user.get("id") else None)
