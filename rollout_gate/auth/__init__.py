"""Sign-in providers (`target.auth.kind`): how a test user gets the credentials its requests carry.

One entry point for every caller (smoke, API isolation, provisioning, E2E set-up):
`sign_in(auth, client, email, secret)` returns an `api.client.Session` whose `headers()` go on every
request of that user. Callers with an HTTP client of their own (Locust) build the same call with
`sign_in_request(auth, email, secret)` and read its answer with `session_from(auth, email, body)`;
`bearer_tokens` needs no call (`preissued_session`). A refusal is a `SignInError`: one line naming the
provider, the user and the endpoint's host, never a secret. Every token and key a session holds is
handed to the client's `on_secret` (the run's redactor) as soon as it is known.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from rollout_gate.api.client import ApiClient, Session
from rollout_gate.auth import bearer_tokens, oidc, password_json, supabase
from rollout_gate.auth.request import SignInError, SignInRequest, host_of, reason

if TYPE_CHECKING:
    from rollout_gate.config.models import AuthConfig

__all__ = ["SignInError", "SignInRequest", "preissued_session", "refresh", "session_from", "sign_in", "sign_in_request"]

# Kinds that sign in with a request to an endpoint; bearer_tokens has none.
_REQUESTING: dict[str, ModuleType] = {"password_json": password_json, "supabase": supabase, "oidc": oidc}


def _kind(auth: AuthConfig) -> str:
    return "password_json" if auth.kind == "password" else auth.kind  # a hand-built config may use the alias


def _provider(auth: AuthConfig) -> ModuleType:
    kind = _kind(auth)
    if kind == "none":
        raise SignInError("target.auth.kind is none: the environment says its users do not sign in")
    if kind == "bearer_tokens":
        raise SignInError("bearer_tokens: tokens are issued beforehand; use preissued_session, not a sign-in request")
    if kind not in _REQUESTING:
        raise SignInError(f"target.auth.kind: {kind} is not a sign-in provider")
    return _REQUESTING[kind]


def preissued_session(auth: AuthConfig, email: str, secret: str | None) -> Session | None:
    """The session of a user whose token was issued beforehand (bearer_tokens); None where a call is needed."""
    return bearer_tokens.preissued_session(auth, email, secret) if _kind(auth) == "bearer_tokens" else None


def sign_in_request(auth: AuthConfig, email: str, secret: str | None) -> SignInRequest:
    """The provider's sign-in call for `email`, to send with any HTTP client (then `session_from` its JSON)."""
    request: SignInRequest = _provider(auth).sign_in_request(auth, email, secret)
    return request


def session_from(auth: AuthConfig, email: str, response_json: Any) -> Session:
    """The session a 200 answer to `sign_in_request` describes (its token at `target.auth.token_field`)."""
    session: Session = _provider(auth).session_from(auth, email, response_json)
    return session


def sign_in(auth: AuthConfig, client: ApiClient, email: str, secret: str | None) -> Session:
    """Sign `email` in with `secret` (a password, or a pre-issued token for `bearer_tokens`)."""
    session = preissued_session(auth, email, secret)
    if session is not None:
        _remember(client, session)
        if auth.verify_path:
            _verify(client, session, auth.verify_path)
        return session
    return _send(auth, client, email, sign_in_request(auth, email, secret), "sign-in")


def refresh(auth: AuthConfig, client: ApiClient, session: Session) -> Session:
    """A new session from `session`'s refresh token (supabase, oidc: `grant_type=refresh_token`)."""
    provider = _provider(auth)
    if not hasattr(provider, "refresh_request"):
        raise SignInError(f"{_kind(auth)}: sessions of this kind are not refreshed")
    return _send(auth, client, session.email, provider.refresh_request(auth, session), "refresh")


def _send(auth: AuthConfig, client: ApiClient, email: str, request: SignInRequest, what: str) -> Session:
    host = host_of(request.url, client.base_url)
    # apikey, client secret (also as its Basic header), refresh token: masked before anything can print them.
    keys = [k.get_secret_value() for k in (auth.apikey, auth.client_secret) if k is not None]
    form = request.data or {}
    for value in (
        *keys,
        *request.headers.values(),
        *(form.get(k) for k in ("password", "client_secret", "refresh_token")),
    ):
        _secret(client, value)
    content, headers = request.encoded()
    try:
        response = client.http.request(request.method, request.url, params=request.params, content=content,
                                       headers=headers)  # fmt: skip
    except httpx.HTTPError as exc:
        raise SignInError(f"{request.provider} {what} of {email}: cannot reach {host}: {type(exc).__name__}") from None
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    for key in ("access_token", "refresh_token", "id_token"):
        if isinstance(body, dict):
            _secret(client, body.get(key))
    if response.status_code != 200:
        why = reason(response.status_code, body, response.text)
        path = urlsplit(request.url).path or "/"
        raise SignInError(f"{request.provider} {what} of {email} refused by {host}: {request.method} {path} -> {why}")
    if body is None:
        raise SignInError(f"{request.provider} {what} of {email} at {host}: the answer is not JSON")
    session = session_from(auth, email, body)
    _remember(client, session)
    return session


def _verify(client: ApiClient, session: Session, path: str) -> None:
    """bearer_tokens with `verify_path`: the token must be accepted there (a stale token fails at sign-in)."""
    host = host_of(path, client.base_url)
    try:
        response = client.http.request("GET", path, headers=session.headers())
    except httpx.HTTPError as exc:
        problem = f"cannot reach {host}: {type(exc).__name__}"
        raise SignInError(f"bearer_tokens check of {session.email}: {problem}") from None
    if response.status_code != 200:
        raise SignInError(f"bearer_tokens: the token of {session.email} is refused by {host}: GET {path} -> "
                          f"{response.status_code}")  # fmt: skip


def _remember(client: ApiClient, session: Session) -> None:
    _secret(client, session.token)
    _secret(client, session.refresh_token)
    for _name, value in session.extra_headers:
        _secret(client, value)


def _secret(client: ApiClient, value: object) -> None:
    if client.on_secret is not None and isinstance(value, str) and value:
        client.on_secret(value)
