"""Databases of four tenancy shapes on the process's embedded server, for the discovery tests.

- `reference`: the reference app after its v2 migrations; `reference_v1`: before them.
- `accounts`: tests/isolation/accounts_model (app schema, account_id, SET ROLE + app.user_id) after its migration.
- `teams`: tests/catalog/teams_model (Supabase claims, teams/team_id, text[] roles, an enum state).
- `tie`: two tables each referenced by two tables, so the tenant table cannot be decided.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from rollout_gate.catalog import Catalog, read_catalog
from rollout_gate.local.cluster import ClusterInfo
from rollout_gate.reference_app import migrations_dir, schema_dir
from tests.embedded import EmbeddedServer
from tests.rehearsal import ROOT

HERE = Path(__file__).resolve().parent
ACCOUNTS = ROOT / "tests/isolation/accounts_model"
TIE_SQL = """
create table public.people (id bigint primary key, email text not null);
create table public.companies (id bigint primary key, name text);
create table public.workspaces (id bigint primary key, name text);
create table public.deals (id bigint primary key, company_id bigint references public.companies,
                           seller bigint references public.people);
create table public.contacts (id bigint primary key, company_id bigint references public.companies);
create table public.pages (id bigint primary key, workspace_id bigint references public.workspaces);
create table public.files (id bigint primary key, workspace_id bigint references public.workspaces);
"""


@dataclass
class Models:
    info: ClusterInfo
    member: str
    anon: str

    def dsn(self, name: str) -> str:
        return self.info.dsn(name)

    def catalog(self, name: str, schemas: list[str], *, referenced: bool = True) -> Catalog:
        with psycopg.connect(self.dsn(name)) as conn:
            return read_catalog(conn, schemas, referenced=referenced)


def accounts_sql(name: str, member: str, anon: str) -> str:
    text = (ACCOUNTS / name).read_text()
    return re.sub(r"(?<!:):(member|anon)\b", lambda m: f'"{member if m.group(1) == "member" else anon}"', text)


@contextmanager
def model_databases(server: EmbeddedServer) -> Iterator[Models]:
    """The five databases (and the accounts model's two roles) in a scope of the process's embedded server."""
    suffix = secrets.token_hex(3)
    with server.scope() as scope:
        models = Models(scope.info, f"acct_member_{suffix}", f"acct_anon_{suffix}")
        with psycopg.connect(scope.dsn(), autocommit=True) as conn:
            for role in (models.member, models.anon):
                conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))
        reference = sorted(schema_dir().glob("*.sql"))
        files: dict[str, list[str]] = {
            "reference_v1": [p.read_text() for p in reference],
            "reference": [p.read_text() for p in [*reference, *sorted(migrations_dir().glob("*.sql"))]],
            "accounts": [accounts_sql(f, models.member, models.anon) for f in ("schema.sql", "migration.sql")],
            "tie": [TIE_SQL],
        }
        for name, texts in files.items():
            scope.database(*texts, name=name)
        # After the reference's auth layer, which makes the (cluster-wide) API roles the teams schema grants to.
        scope.database((HERE / "teams_model/schema.sql").read_text(), name="teams")
        yield models
