"""Act as a member (or as anon, or as nobody) inside the current transaction, the way the target's API layer does.

`supabase` mode, as PostgREST does: `SET LOCAL ROLE authenticated`, the JWT claims in `request.jwt.claims`
(`sub`, `role`, `aud`, `email`, `iat`, `exp`, plus `tenancy.impersonation.extra_claims`), each top-level
claim also as `request.jwt.claim.<name>` (PostgREST before v10; `claim_settings`), then the optional
`pre_request` function (PostgREST's db-pre-request). `setting` mode: `SET LOCAL ROLE <role>` plus one
setting holding the user or tenant id (e.g. `app.current_tenant`), then `pre_request` if set.
Everything is transaction-local, so a rollback undoes it.

The unset identity (`unset`) takes the member role and sets nothing: the identity settings stay absent,
which `current_setting(name, true)` reads as NULL. Never `''`: once a session has set a setting, it reads
`''` for the rest of the session, and a policy can treat the two differently (see unset_identity.py).
"""

from __future__ import annotations

import json
import re
from typing import Any

import psycopg
from psycopg import sql

from rollout_gate.catalog.names import qualify
from rollout_gate.config.models import ImpersonationConfig
from rollout_gate.errors import RolloutGateError

# The claims the harness sets itself (extra_claims may add others, or override aud/email/iat/exp).
STANDARD_CLAIMS = ("sub", "role", "aud", "email", "iat", "exp")
# How long the impersonated token is valid (`exp` - `iat`), as Supabase's default JWT expiry.
TOKEN_LIFETIME_S = 3600
# PostgREST sets `request.jwt.claim.<name>` only for names that make a valid setting name.
_CLAIM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLACEHOLDERS = ("user_id", "tenant_id", "email")


def anon_not_applicable(config: ImpersonationConfig) -> str | None:
    """Why the anonymous probes have nothing to probe: only `anon_role: null` written in the environment
    file (the default is `anon`). A named role the database lacks is no declaration: those probes stay
    inconclusive."""
    if config.anon_role is None:
        return "tenancy.impersonation.anon_role: null (the environment has no anonymous role)"
    return None


# One statement: the claims, with iat/exp from the database's clock (what its helpers compare with),
# extra_claims merged over them, written to the claims setting and (optionally) one setting per claim.
_SET_CLAIMS = """
with c as (
    select %(base)s::jsonb
           || jsonb_build_object('iat', t, 'exp', t + %(lifetime)s)
           || %(extra)s::jsonb as claims
    from (select floor(extract(epoch from now()))::bigint as t) n
)
select set_config(%(setting)s, claims::text, true),
       (select count(set_config(%(prefix)s || key,
                                case jsonb_typeof(value) when 'string' then value #>> '{}' else value::text end, true))
        from jsonb_each(claims) where %(per_claim)s and key ~ '^[A-Za-z_][A-Za-z0-9_]*$')
from c
"""


# A statement and its parameters (None: none), as `conn.execute` takes them.
Statement = tuple[sql.SQL | sql.Composed, Any]


class PreRequestError(RolloutGateError):
    """The target's pre-request function raised for this caller: the request is rejected before any query."""

    def __init__(self, function: str, who: str, sqlstate: str | None, message: str) -> None:
        self.function, self.who, self.sqlstate, self.message = function, who, sqlstate, message
        super().__init__(f"tenancy.impersonation.pre_request {function} rejected {who}: {sqlstate}: {message}")


class Impersonator:
    def __init__(self, config: ImpersonationConfig) -> None:
        self.config = config

    @property
    def _setting(self) -> str:
        if self.config.mode == "supabase":
            return self.config.claims_setting
        if not self.config.setting:
            raise ValueError("tenancy.impersonation.setting is required in `setting` mode")
        return self.config.setting

    @property
    def _claim_prefix(self) -> str:
        # request.jwt.claims -> request.jwt.claim.<name>
        return self.config.claims_setting.removesuffix("s") + "."

    def identity_settings(self) -> list[str]:
        """Every setting an impersonation writes: what the unset identity leaves absent."""
        if self.config.mode != "supabase":
            return [self._setting]
        names = [self.config.claims_setting]
        if self.config.claim_settings:
            extra = [k for k in self.config.extra_claims if k not in STANDARD_CLAIMS]
            names += [self._claim_prefix + k for k in (*STANDARD_CLAIMS, *extra) if _CLAIM_NAME.match(k)]
        return names

    def claims(self, user_id: str, tenant_id: str, email: str | None) -> dict[str, Any]:
        """The member's claims without iat/exp (those come from the database's clock when they are set)."""
        cfg = self.config
        claims: dict[str, Any] = {"sub": user_id, "role": cfg.role, "aud": cfg.role}
        if email:
            claims["email"] = email
        values = {"user_id": user_id, "tenant_id": tenant_id, "email": email or ""}
        return claims | _fill(dict(cfg.extra_claims), values)

    def member(self, conn: psycopg.Connection[Any], user_id: str, tenant_id: str, email: str | None = None) -> None:
        """Act as the member; raises PreRequestError when the target's pre-request function rejects them."""
        for query, params in self.member_statements(user_id, tenant_id, email):
            conn.execute(query, params)
        self.pre_request(conn, f"member {user_id}")

    def member_statements(self, user_id: str, tenant_id: str, email: str | None = None) -> list[Statement]:
        """The statements that make the session act as the member, before any pre-request function (which a
        caller sending them itself must call through `pre_request`)."""
        cfg = self.config
        statements: list[Statement] = [(sql.SQL("set local role {}").format(sql.Identifier(cfg.role)), None)]
        if cfg.mode == "supabase":
            statements.append(self._claims_statement(self.claims(user_id, tenant_id, email)))
        else:
            value = user_id if cfg.setting_value == "user" else tenant_id
            statements.append((sql.SQL("select set_config(%s, %s, true)"), (self._setting, value)))
        return statements

    def anon(self, conn: psycopg.Connection[Any]) -> bool:
        """Act as the anonymous role; False when the environment has none.

        Supabase: the claims of the anon key (`role` and its times, no `sub`). Setting mode: the setting
        is left absent, as an unauthenticated request leaves it, never set to `''`.
        """
        cfg = self.config
        if not cfg.anon_role:
            return False
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(cfg.anon_role)))
        if cfg.mode == "supabase":
            self._set_claims(conn, {"role": cfg.anon_role})
        self.pre_request(conn, f"the anonymous role {cfg.anon_role}")
        return True

    def unset(self, conn: psycopg.Connection[Any], *, empty: bool = False) -> None:
        """Act as the member role with no identity: the identity settings absent (or, `empty`, set to `''`)."""
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(self.config.role)))
        if empty:
            for name in self.identity_settings():
                conn.execute("select set_config(%s, '', true)", (name,))
        self.pre_request(conn, f"the role {self.config.role} without identity")

    def pre_request(self, conn: psycopg.Connection[Any], who: str) -> None:
        """Call `tenancy.impersonation.pre_request` (if set) as PostgREST's db-pre-request does."""
        if not self.config.pre_request:
            return
        fn = qualify(self.config.pre_request)
        try:
            # A savepoint: the caller's transaction (and the role and claims set above) survive a rejection.
            with conn.transaction():
                conn.execute(sql.SQL("select {}()").format(fn.ident))
        except psycopg.Error as exc:
            message = (exc.diag.message_primary or str(exc)).strip().splitlines()[0]
            raise PreRequestError(str(fn), who, exc.sqlstate, message) from None

    def admin(self, conn: psycopg.Connection[Any]) -> None:
        """Back to the connecting role, without caller identity."""
        conn.execute("reset role")
        for name in self.identity_settings():
            conn.execute("select set_config(%s, '', true)", (name,))

    def _set_claims(self, conn: psycopg.Connection[Any], claims: dict[str, Any]) -> None:
        query, params = self._claims_statement(claims)
        conn.execute(query, params)

    def _claims_statement(self, claims: dict[str, Any]) -> Statement:
        times = {k: claims.pop(k) for k in ("iat", "exp") if k in claims}  # extra_claims may override them
        params = {
            "base": json.dumps(claims),
            "extra": json.dumps(times),
            "lifetime": TOKEN_LIFETIME_S,
            "setting": self.config.claims_setting,
            "prefix": self._claim_prefix,
            "per_claim": self.config.claim_settings,
        }
        return sql.SQL(_SET_CLAIMS), params


def _fill(value: Any, values: dict[str, str]) -> Any:
    """Replace "{user_id}", "{tenant_id}" and "{email}" in the strings of an extra_claims value."""
    if isinstance(value, str):
        for name in _PLACEHOLDERS:
            value = value.replace("{" + name + "}", values[name])
        return value
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value
