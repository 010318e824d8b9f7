"""Signed access tokens: HS256 JWTs with `sub`, `role`, `email`, `iat` and `exp`."""

from __future__ import annotations

import time
import uuid

import jwt

from rollout_gate.reference_app.app.db import Principal

ALGORITHM = "HS256"
ISSUER = "rollout-gate-reference-app"
ROLE = "authenticated"


class InvalidToken(Exception):
    """The token is missing, malformed, expired or not signed with our secret."""


def issue(principal: Principal, secret: str, ttl_s: int, *, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    claims = {
        "sub": str(principal.user_id),
        "email": principal.email,
        "role": ROLE,
        "iss": ISSUER,
        "iat": issued,
        "exp": issued + ttl_s,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify(token: str, secret: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["sub", "exp", "iat", "role"]},
        )
        if claims["role"] != ROLE:
            raise InvalidToken("unexpected role")
        return Principal(uuid.UUID(claims["sub"]), str(claims.get("email", "")))
    except (jwt.PyJWTError, ValueError, KeyError) as exc:
        raise InvalidToken(type(exc).__name__) from None
