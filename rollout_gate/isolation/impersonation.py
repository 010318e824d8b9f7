"""Act as a member (or as anon) inside the current transaction, the way the target's API layer does.

`supabase` mode: `SET LOCAL ROLE authenticated` plus the JWT claims in `request.jwt.claims`, as
PostgREST does. `setting` mode: `SET LOCAL ROLE <role>` plus one setting holding the user or tenant
id (e.g. `app.current_tenant`). Everything is transaction-local, so a rollback undoes it.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
from psycopg import sql

from rollout_gate.config.models import ImpersonationConfig


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

    def member(self, conn: psycopg.Connection[Any], user_id: str, tenant_id: str, email: str | None = None) -> None:
        cfg = self.config
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(cfg.role)))
        if cfg.mode == "supabase":
            claims: dict[str, str] = {"sub": user_id, "role": cfg.role, "aud": cfg.role}
            if email:
                claims["email"] = email
            value = json.dumps(claims)
        else:
            value = user_id if cfg.setting_value == "user" else tenant_id
        conn.execute("select set_config(%s, %s, true)", (self._setting, value))

    def anon(self, conn: psycopg.Connection[Any]) -> bool:
        """Act as the anonymous role; False when the environment has none."""
        cfg = self.config
        if not cfg.anon_role:
            return False
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(cfg.anon_role)))
        value = json.dumps({"role": cfg.anon_role}) if cfg.mode == "supabase" else ""
        conn.execute("select set_config(%s, %s, true)", (self._setting, value))
        return True

    def admin(self, conn: psycopg.Connection[Any]) -> None:
        """Back to the connecting role, without caller identity."""
        conn.execute("reset role")
        conn.execute("select set_config(%s, '', true)", (self._setting,))
