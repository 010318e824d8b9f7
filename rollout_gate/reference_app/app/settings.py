"""The app's settings, read once from its environment (the local target passes them to the child)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from rollout_gate.reference_app.app.faults import ENV_VAR as FAULTS_VAR
from rollout_gate.reference_app.app.faults import NO_FAULTS, Faults

PREFIX = "ROLLOUT_APP_"
STATS_TOKEN_VAR = PREFIX + "STATS_TOKEN"
# v2: the multi-tenant app (organizations, memberships); v1: the single-tenant app it replaced, which
# serves the v1 schema (every row owned by its user) again after a rollback.
SCHEMAS = ("v1", "v2")
# The Supabase-shaped sign-in's `apikey` (ROLLOUT_APP_ANON_KEY) where none is given: a public, local-only
# value, like the Supabase CLI's well-known local anon key; `rollout-gate local up` prints it.
LOCAL_ANON_KEY = "rg-local-anon-key-6f1c2a9e4b7d"


@dataclass(frozen=True)
class Settings:
    # The non-owner login role (rg_app): RLS applies to everything it does.
    database_url: str
    jwt_secret: str
    # Where invitation links point: the app's own base URL as users reach it.
    public_url: str
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 0
    mail_from: str = "Time Tracker <no-reply@example.test>"
    token_ttl_s: int = 3600
    invitation_ttl_days: int = 7
    pool_min: int = 1
    pool_max: int = 10
    faults: Faults = NO_FAULTS
    schema: str = "v2"
    anon_key: str = LOCAL_ANON_KEY
    # The bearer token of GET /admin/stats (ROLLOUT_APP_STATS_TOKEN); unset: the route answers 404.
    stats_token: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        missing = [k for k in ("DATABASE_URL", "JWT_SECRET", "PUBLIC_URL") if not env.get(PREFIX + k)]
        if missing:
            raise ValueError("missing settings: " + ", ".join(PREFIX + k for k in missing))
        if len(env[PREFIX + "JWT_SECRET"]) < 32:
            raise ValueError(f"{PREFIX}JWT_SECRET must be at least 32 characters")
        schema = env.get(PREFIX + "SCHEMA") or "v2"
        if schema not in SCHEMAS:
            raise ValueError(f"{PREFIX}SCHEMA must be one of {', '.join(SCHEMAS)}, not {schema!r}")
        return cls(
            schema=schema,
            database_url=env[PREFIX + "DATABASE_URL"],
            jwt_secret=env[PREFIX + "JWT_SECRET"],
            public_url=env[PREFIX + "PUBLIC_URL"].rstrip("/"),
            smtp_host=env.get(PREFIX + "SMTP_HOST", "127.0.0.1"),
            smtp_port=int(env.get(PREFIX + "SMTP_PORT", "0")),
            token_ttl_s=int(env.get(PREFIX + "TOKEN_TTL_S", "3600")),
            pool_max=int(env.get(PREFIX + "POOL_MAX", "10")),
            faults=Faults.parse(env.get(FAULTS_VAR)),
            anon_key=env.get(PREFIX + "ANON_KEY") or LOCAL_ANON_KEY,
            stats_token=env.get(STATS_TOKEN_VAR) or None,
        )
