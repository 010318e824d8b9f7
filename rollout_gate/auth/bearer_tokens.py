"""`bearer_tokens`: tokens issued beforehand per test user (Clerk, Auth0 and other hosted sign-ins, whose
password forms a harness should not drive): no sign-in call; the token comes from `target.auth.tokens`
(`${VAR}`s) or `tokens_csv` (`email,token`, read by provisioning/existing.py and passed as the secret)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rollout_gate.api.client import Session
from rollout_gate.auth.request import SignInError

if TYPE_CHECKING:
    from rollout_gate.config.models import AuthConfig

NAME = "bearer_tokens"


def preissued_session(auth: AuthConfig, email: str, secret: str | None) -> Session:
    """The user's session from its token: `secret` if given, else its entry in `target.auth.tokens`."""
    token = secret
    if token is None:
        token = next((t.token.get_secret_value() for t in auth.tokens if t.email.lower() == email.lower()), None)
    if not token:
        raise SignInError(f"{NAME}: no token for {email} (target.auth.tokens or tokens_csv)")
    return Session(email=email, token=token)
