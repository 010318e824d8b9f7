"""`oidc`: an OAuth2 token endpoint (RFC 6749): the resource owner password grant (4.3) for each test user, or
the client credentials grant (4.4) for the client itself; form-encoded, the client authenticated with HTTP
Basic (2.3.1, what every server supports) or in the body (`client_auth: post`)."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

from rollout_gate.api.client import Session
from rollout_gate.auth.password_json import session_of
from rollout_gate.auth.request import SignInError, SignInRequest

if TYPE_CHECKING:
    from rollout_gate.config.models import AuthConfig

NAME = "oidc"


def _request(auth: AuthConfig, form: dict[str, str]) -> SignInRequest:
    if not auth.token_url or not auth.client_id:
        raise SignInError(f"{NAME}: target.auth.token_url and client_id are required")
    # `audience` is not RFC 6749's, but Auth0 and others need it to issue an API token.
    extras = {"scope": auth.scope, "audience": auth.audience}
    form = {**form, **{k: v for k, v in extras.items() if v}}
    headers: dict[str, str] = {}
    secret = auth.client_secret.get_secret_value() if auth.client_secret else None
    if auth.client_auth == "basic" and secret is not None:
        # 2.3.1: client id and secret are form-urlencoded before they are joined and base64-encoded.
        pair = f"{quote_plus(auth.client_id)}:{quote_plus(secret)}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    else:
        form["client_id"] = auth.client_id  # a public client (no secret) names itself in the body (2.3.1, 3.2.1)
        if secret is not None:
            form["client_secret"] = secret
    return SignInRequest(NAME, "POST", auth.token_url, headers=headers, data=form)


def sign_in_request(auth: AuthConfig, email: str, secret: str | None) -> SignInRequest:
    if auth.grant == "client_credentials":
        return _request(auth, {"grant_type": "client_credentials"})
    if secret is None:
        raise SignInError(f"{NAME}: no password for {email}")
    return _request(auth, {"grant_type": "password", "username": email, "password": secret})


def refresh_request(auth: AuthConfig, session: Session) -> SignInRequest:
    if not session.refresh_token:
        raise SignInError(f"{NAME}: the session of {session.email} has no refresh token")
    return _request(auth, {"grant_type": "refresh_token", "refresh_token": session.refresh_token})


def session_from(auth: AuthConfig, email: str, body: Any) -> Session:
    return session_of(NAME, auth, email, body)
