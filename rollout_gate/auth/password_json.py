"""`password_json`: the app's own JSON sign-in (`POST sign_in_path {email, password}` -> `{access_token}`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rollout_gate.api.client import Session
from rollout_gate.auth.request import SignInError, SignInRequest, field_at

if TYPE_CHECKING:
    from rollout_gate.config.models import AuthConfig

NAME = "password_json"


def sign_in_request(auth: AuthConfig, email: str, secret: str | None) -> SignInRequest:
    if secret is None:
        raise SignInError(f"{NAME}: no password for {email}")
    body = {auth.email_field: email, auth.password_field: secret}
    return SignInRequest(NAME, "POST", auth.sign_in_path, json=body)


def session_from(auth: AuthConfig, email: str, body: Any) -> Session:
    return session_of(NAME, auth, email, body)


def session_of(
    provider: str, auth: AuthConfig, email: str, body: Any, extra: tuple[tuple[str, str], ...] = ()
) -> Session:
    """The session a token response describes: the token at `token_field`, the user id at `user_id_field`."""
    token = field_at(body, auth.token_field)
    if not isinstance(token, str) or not token:
        raise SignInError(f"{provider}: the sign-in response of {email} has no {auth.token_field}")
    user_id = field_at(body, auth.user_id_field)
    refresh = field_at(body, "refresh_token")
    return Session(
        email=email,
        token=token,
        user_id=str(user_id) if user_id not in (None, "") else None,
        extra_headers=extra,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
    )
