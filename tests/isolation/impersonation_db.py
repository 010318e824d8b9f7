"""Small schemas of our own on a real embedded PostgreSQL, for the impersonation, unset-identity and
app-role self-tests: `groups.sql` (Supabase style: claims helper requiring exp/iat/aud, a pre-request
function) and `tickets.sql` (app-setting tenancy, integer ids, the app's own login role).

Each test module opens a scope of the process's embedded server (`server()`); every test gets a fresh
database on it.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from rollout_gate.catalog import TenancyModel, qualify, read_catalog, resolve_tenancy
from rollout_gate.config.models import TenancyConfig
from rollout_gate.local.cluster import ClusterInfo
from tests.embedded import EmbeddedServer
from tests.rehearsal import ROOT

MODEL = Path(__file__).resolve().parent / "impersonation_model"
FAIL_OPEN = "id = coalesce(current_setting('app.current_tenant_id', true)::int, id)"
FAIL_CLOSED = "id = current_setting('app.current_tenant_id', true)::int"

GROUPS_TENANCY: dict[str, Any] = {
    "user_table": "auth.users",
    "tenant_table": "public.groups",
    "tenant_key": "group_id",
    "membership": {"table": "public.group_members", "tenant_column": "group_id", "status_column": None,
                   "owner_role": "owner"},
    "personal_workspace": {"function": None, "owner_column": None},
    "global_tables": ["public.blocked_users"],
    "impersonation": {"mode": "supabase", "role": "authenticated", "anon_role": "anon"},
}  # fmt: skip
TICKETS_TENANCY: dict[str, Any] = {
    "user_table": "public.users",
    "tenant_table": "public.tenants",
    "tenant_key": "tenant_id",
    "membership": {"table": "public.tenant_users", "tenant_column": "tenant_id", "status_column": None,
                   "owner_role": "owner"},
    "personal_workspace": {"function": None, "owner_column": None},
    "impersonation": {
        "mode": "setting", "role": "tickets_member", "anon_role": "tickets_anon",
        "setting": "app.current_tenant_id", "setting_value": "tenant",
    },
}  # fmt: skip


@dataclass
class Server:
    info: ClusterInfo

    def database(self, schema: str, *, tenant_policy: str = FAIL_CLOSED, extra: str = "") -> str:
        """A fresh database holding `schema` (groups.sql or tickets.sql) and `extra` SQL; returns its DSN."""
        name = f"imp_{secrets.token_hex(4)}"
        with psycopg.connect(self.info.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        text = (MODEL / schema).read_text().replace(":tenant_policy", tenant_policy)
        with psycopg.connect(self.info.dsn(name), autocommit=True) as conn:
            # Roles are cluster-wide: create those of the schema once per module (the scope drops them after).
            roles, rest = _split_roles(text)
            for statement in roles:
                role = statement.split()[2]
                if (
                    statement.startswith("grant ")
                    or not conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
                ):
                    conn.execute(statement)  # type: ignore[arg-type]
            conn.execute(rest)  # type: ignore[arg-type]
            if extra:
                conn.execute(extra)  # type: ignore[arg-type]
        return self.info.dsn(name)


def _split_roles(text: str) -> tuple[list[str], str]:
    """The `create role` / `grant <role> to` lines (run once per server) and the rest of the script."""
    roles, rest = [], []
    for line in text.splitlines():
        is_role = line.startswith("create role ") or (line.startswith("grant ") and " on " not in line)
        (roles if is_role else rest).append(line)
    return [r.rstrip(";") for r in roles], "\n".join(rest)


@contextmanager
def server(embedded: EmbeddedServer) -> Iterator[Server]:
    """A scope of the process's embedded server for one test module (its databases and roles dropped after)."""
    with embedded.scope() as scope:
        yield Server(scope.info)


def tenancy(conn: psycopg.Connection[Any], settings: dict[str, Any], **impersonation: Any) -> TenancyModel:
    """The tenancy model of the database `conn` is on, from an environment file's `tenancy:` mapping."""
    raw = {**settings, "impersonation": {**settings["impersonation"], **impersonation}}
    config = TenancyConfig.model_validate(raw)
    roles = [r for r in (config.impersonation.role, config.impersonation.anon_role) if r]
    extra = [qualify(t) for t in (config.user_table, config.tenant_table, config.membership.table)]
    catalog = read_catalog(conn, config.schemas, roles=roles, extra_tables=extra)
    model = resolve_tenancy(config, catalog)
    assert model.problems == [], model.problems
    return model


ENV = """\
name: {name}
kind: remote
target:
  database_url: ${{IMP_DSN}}
  connect_timeout: 5
{app_role}tenancy: {tenancy}
safety:
  allow_writes: false
phases:
  enabled: [post-migration]
"""
SUITES = (
    "suites/tenant_isolation/test_cross_tenant_probes.py",
    "suites/tenant_isolation/test_unset_identity.py",
    "suites/tenant_isolation/test_app_role.py",
)


def harness(dsn: str, tmp_path: Path, tenancy_: dict[str, Any], app_role: str | None) -> tuple[str, dict[str, Any]]:
    """Run the isolation suites on `dsn` as CI would (post-migration, writes forbidden); output and gate.json."""
    role_line = f"  app_role: {app_role}\n" if app_role else ""
    env_file = tmp_path / "environments" / "imp.yaml"
    env_file.parent.mkdir(parents=True, exist_ok=True)
    env_file.write_text(ENV.format(name="imp", app_role=role_line, tenancy=json.dumps(tenancy_)))
    reports = tmp_path / "reports"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLOUT_", "PYTEST_"))}
    env["IMP_DSN"] = dsn
    argv = [
        sys.executable, "-m", "pytest", f"--env={env_file}", f"--report-dir={reports}", "--phase=post-migration",
        "-p", "no:cacheprovider", "-q", "-rfEs", *SUITES,
    ]  # fmt: skip
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    gate = json.loads((reports / "gate.json").read_text()) if (reports / "gate.json").is_file() else {}
    return textwrap.dedent(proc.stdout + proc.stderr), gate


def criteria(gate: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in gate.get("criteria", [])}
