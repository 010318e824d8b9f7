"""`supabase`: Supabase Auth's password grant (`POST /auth/v1/token?grant_type=password` with the `apikey`
header); the JWT is sent as bearer and the `apikey` with every request; `grant_type=refresh_token` refreshes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rollout_gate.api.client import Session
from rollout_gate.auth.password_json import session_of
from rollout_gate.auth.request import SignInError, SignInRequest

if TYPE_CHECKING:
    from rollout_gate.config.models import AuthConfig

NAME = "supabase"
TOKEN_PATH = "/auth/v1/token"


def _key(auth: AuthConfig) -> str:
    if auth.apikey is None:  # the config refuses this; a hand-built AuthConfig may not
        raise SignInError(f"{NAME}: target.auth.apikey is not set")
    return auth.apikey.get_secret_value()


def _url(auth: AuthConfig) -> str:
    return (auth.auth_url.rstrip("/") if auth.auth_url else "") + TOKEN_PATH


def sign_in_request(auth: AuthConfig, email: str, secret: str | None) -> SignInRequest:
    if secret is None:
        raise SignInError(f"{NAME}: no password for {email}")
    return SignInRequest(NAME, "POST", _url(auth), params={"grant_type": "password"},
                         headers={"apikey": _key(auth)}, json={"email": email, "password": secret})  # fmt: skip


def refresh_request(auth: AuthConfig, session: Session) -> SignInRequest:
    if not session.refresh_token:
        raise SignInError(f"{NAME}: the session of {session.email} has no refresh token")
    return SignInRequest(NAME, "POST", _url(auth), params={"grant_type": "refresh_token"},
                         headers={"apikey": _key(auth)}, json={"refresh_token": session.refresh_token})  # fmt: skip


def session_from(auth: AuthConfig, email: str, body: Any) -> Session:
    return session_of(NAME, auth, email, body, extra=(("apikey", _key(auth)),))
