"""Sign-in providers (`target.auth.kind`): how a test user gets the credentials its requests carry.

One entry point for every caller (smoke, API isolation, provisioning, load, E2E set-up):
`sign_in(auth, client, email, secret)` returns an `api.client.Session` whose `headers()` go on every
request of that user. A refusal is a `SignInError`: one line naming the provider and the user, never
the secret. Only `password_json` exists so far; the other kinds are issue 14's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rollout_gate.api.client import ApiClient, ApiError, Session

if TYPE_CHECKING:
    from rollout_gate.config.models import AuthConfig


class SignInError(ApiError):
    """A provider refused or answered something unusable; the message names the provider, never a secret."""


def sign_in(auth: AuthConfig, client: ApiClient, email: str, secret: str | None) -> Session:
    """Sign `email` in with `secret` (a password, or a pre-issued token for `bearer_tokens`)."""
    if auth.kind in ("password", "password_json"):
        if secret is None:
            raise SignInError(f"password_json: no password for {email}")
        try:
            return client.sign_in(email, secret, path=auth.sign_in_path)
        except ApiError as exc:
            raise SignInError(f"password_json sign-in of {email} at {auth.sign_in_path}: {exc}") from None
    raise SignInError(f"target.auth.kind: {auth.kind} is not implemented")
