"""The splinter-style lints (rollout_gate/isolation/lints.py) on small schemas of a real PostgreSQL.

Each lint fails on a schema with its defect, naming the object, and stays silent on a near miss; the
clean reference migration and the accounts model (another team's schema) raise nothing at all.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from psycopg import sql

from rollout_gate import reference_app
from rollout_gate.catalog import TenancyModel, qualify, read_catalog, resolve_tenancy
from rollout_gate.config import load_environment
from rollout_gate.config.models import TenancyConfig
from rollout_gate.gate import findings as gate
from rollout_gate.isolation.coverage import FAIL, WARN, Finding
from rollout_gate.isolation.lints import lint_findings, static_findings
from rollout_gate.local.cluster import ClusterInfo
from rollout_gate.migrations import sql_files
from tests.embedded import EmbeddedServer
from tests.isolation.test_other_tenancy_model import MODEL
from tests.rehearsal import ROOT

REFERENCE = "lint_reference"


@dataclass
class Server:
    info: ClusterInfo
    member: str
    anon: str

    def database(self, *statements: str, template: str = REFERENCE) -> str:
        """A fresh copy of `template` with `statements` applied; returns its DSN."""
        name = f"lint_{secrets.token_hex(4)}"
        with psycopg.connect(self.info.dsn(), autocommit=True) as conn:
            create = sql.SQL("create database {} template {}")
            conn.execute(create.format(sql.Identifier(name), sql.Identifier(template)))
        dsn = self.info.dsn(name)
        with psycopg.connect(dsn, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)  # type: ignore[arg-type]
        return dsn


@pytest.fixture(scope="module")
def server(embedded_server: EmbeddedServer) -> Iterator[Server]:
    """A scope of the process's embedded server holding the clean reference migration (v1 schema + v2
    migrations, no data)."""
    suffix = secrets.token_hex(3)
    with embedded_server.scope() as scope:
        paths = [*sql_files(reference_app.schema_dir()), *sql_files(reference_app.migrations_dir())]
        scope.database(*(path.read_text() for path in paths), name=REFERENCE)
        yield Server(scope.info, f"lint_member_{suffix}", f"lint_anon_{suffix}")


def model_of(dsn: str, config: TenancyConfig | None = None) -> TenancyModel:
    """The tenancy model the suites build (fixtures/database.py), for the local rehearsal's file or `config`."""
    config = config or load_environment(ROOT / "environments" / "local.yaml", {}).env.tenancy
    extra = [qualify(t) for t in (config.user_table, config.tenant_table, config.membership.table)]
    roles = [r for r in (config.impersonation.role, config.impersonation.anon_role) if r]
    with psycopg.connect(dsn) as conn:
        model = resolve_tenancy(config, read_catalog(conn, config.schemas, extra_tables=extra, roles=roles))
    assert model.problems == []
    return model


def lints(server: Server, *statements: str, rule: str) -> list[Finding]:
    return [f for f in lint_findings(model_of(server.database(*statements))) if f.rule == rule]


def objects(found: list[Finding]) -> set[tuple[str, str]]:
    return {(g.kind, g.name) for f in found for g in f.for_gate()}


# -- no false alarm --------------------------------------------------------------------------------------


def test_the_clean_reference_migration_raises_no_finding(server: Server) -> None:
    dsn = server.info.dsn(REFERENCE)
    with psycopg.connect(dsn) as conn:
        found = static_findings(model_of(dsn), conn)
    assert found == []


def test_the_accounts_model_raises_no_finding(server: Server) -> None:
    with psycopg.connect(server.info.dsn(), autocommit=True) as conn:
        for role in (server.member, server.anon):
            conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))

    def text(name: str) -> str:
        roles = {"member": server.member, "anon": server.anon}
        return re.sub(r"(?<!:):(member|anon)\b", lambda m: f'"{roles[m.group(1)]}"', (MODEL / name).read_text())

    dsn = server.database(text("schema.sql"), text("migration.sql"), template="template1")
    variables = {"ACCOUNTS_DSN": dsn, "ACCOUNTS_MEMBER_ROLE": server.member, "ACCOUNTS_ANON_ROLE": server.anon}
    config = load_environment(MODEL / "accounts.yaml", variables).env.tenancy
    model = model_of(dsn, config)
    # Its policies have no TO clause (PUBLIC) and it has definer helpers: neither is a finding here.
    assert any(p.for_every_role for p in model.catalog.policies) and model.catalog.functions
    with psycopg.connect(dsn) as conn:
        assert static_findings(model, conn) == []


# -- user-editable metadata in policies (blocking) ---------------------------------------------------------


def test_a_policy_reading_user_metadata_fails_naming_table_and_policy(server: Server) -> None:
    found = lints(
        server,
        "create policy clients_by_claimed_org on public.clients for select to authenticated "
        "using (organization_id = (auth.jwt() -> 'user_metadata' ->> 'org_id')::uuid)",
        rule="user_metadata_policy",
    )
    assert [(f.level, f.subject) for f in found] == [(FAIL, "public.clients policy clients_by_claimed_org")]
    assert "reads user_metadata" in found[0].detail
    assert objects(found) == {(gate.TABLE, "public.clients"), (gate.POLICY, "clients_by_claimed_org")}


def test_user_metadata_read_in_a_helper_two_calls_away_is_found(server: Server) -> None:
    found = lints(
        server,
        "create function public.meta_org() returns uuid language sql stable security definer "
        "set search_path = '' as $$ select (raw_user_meta_data ->> 'org')::uuid from auth.users "
        "where id = auth.uid() $$",
        "create function public.claimed_org() returns uuid language sql stable as $$ select public.meta_org() $$",
        "create policy projects_claimed on public.projects for select to authenticated "
        "using (organization_id = public.claimed_org())",
        rule="user_metadata_policy",
    )
    assert [f.subject for f in found] == ["public.projects policy projects_claimed"]
    assert "raw_user_meta_data through public.meta_org()" in found[0].detail
    assert (gate.FUNCTION, "public.meta_org()") in objects(found)


def test_app_metadata_and_a_comment_about_user_metadata_are_no_finding(server: Server) -> None:
    found = lints(
        server,
        "create function public.claimed_tier() returns text language sql stable as $$ "
        "-- not user_metadata: users can edit that\n select auth.jwt() -> 'app_metadata' ->> 'tier' $$",
        "create policy clients_tier on public.clients for select to authenticated "
        "using (public.claimed_tier() = 'gold' and organization_id = any (array(select public.member_org_ids())))",
        rule="user_metadata_policy",
    )
    assert found == []


# -- SECURITY DEFINER without a search_path (review) ------------------------------------------------------


DEFINER = (
    "create function public.org_name(org uuid) returns text language sql stable security definer {path} "
    "as $$ select name from public.organizations where id = org $$"
)


def test_a_definer_function_without_search_path_executable_through_public_is_listed(server: Server) -> None:
    found = lints(server, DEFINER.format(path=""), rule="definer_search_path")
    assert [(f.level, f.subject) for f in found] == [(WARN, "public.org_name(org uuid)")]
    assert "executable by authenticated, anon (through PUBLIC's EXECUTE)" in found[0].detail
    assert objects(found) == {
        (gate.FUNCTION, "public.org_name(org uuid)"),
        (gate.ROLE, "authenticated"),
        (gate.ROLE, "anon"),
    }


def test_a_fixed_search_path_or_no_api_execute_is_no_finding(server: Server) -> None:
    fixed = lints(server, DEFINER.format(path="set search_path = ''"), rule="definer_search_path")
    revoked = lints(
        server,
        DEFINER.format(path=""),
        "revoke execute on function public.org_name(uuid) from public",
        rule="definer_search_path",
    )
    assert fixed == [] and revoked == []


# -- views without security_invoker (blocking, rls_coverage) ----------------------------------------------


def test_a_definer_view_over_an_rls_table_fails_even_when_not_a_tenant_table(server: Server) -> None:
    found = lints(
        server,
        "create view public.profile_names as select user_id, display_name from public.profiles",
        "grant select on public.profile_names to authenticated",
        rule="view_bypasses_rls",
    )
    assert [(f.level, f.subject) for f in found] == [(FAIL, "public.profile_names")]
    assert objects(found) == {
        (gate.VIEW, "public.profile_names"),
        (gate.TABLE, "public.profiles"),
        (gate.ROLE, "authenticated"),
    }


def test_an_invoker_view_is_no_finding(server: Server) -> None:
    found = lints(
        server,
        "create view public.project_names with (security_invoker = true) as select id, name from public.projects",
        "grant select on public.project_names to authenticated",
        rule="view_bypasses_rls",
    )
    assert found == []


# -- RLS on, no policy (review) ----------------------------------------------------------------------------


NO_POLICY = (
    "create table public.audit_log (id bigint primary key, note text)",
    "alter table public.audit_log enable row level security",
)


def test_rls_without_a_policy_on_a_granted_table_is_listed(server: Server) -> None:
    found = lints(server, *NO_POLICY, "grant select on public.audit_log to authenticated", rule="rls_enabled_no_policy")
    assert [(f.level, f.subject) for f in found] == [(WARN, "public.audit_log")]
    assert "every row is hidden from the roles granted it (authenticated: SELECT)" in found[0].detail


def test_rls_without_a_policy_and_without_api_grants_is_the_service_role_lockdown(server: Server) -> None:
    assert lints(server, *NO_POLICY, rule="rls_enabled_no_policy") == []


# -- policies for PUBLIC on tenant tables (review) --------------------------------------------------------


PUBLIC_POLICY = (
    "create policy projects_any_role on public.projects for select "
    "using (organization_id = any (array(select public.member_org_ids())))"
)


def test_a_public_policy_on_a_tenant_table_the_anonymous_role_can_read_is_listed(server: Server) -> None:
    found = lints(server, PUBLIC_POLICY, "grant select on public.projects to anon", rule="public_policy")
    assert [(f.level, f.subject) for f in found] == [(WARN, "public.projects policy projects_any_role")]
    assert "applies to the anonymous role anon too, which holds SELECT" in found[0].detail
    assert objects(found) == {
        (gate.TABLE, "public.projects"),
        (gate.POLICY, "projects_any_role"),
        (gate.ROLE, "anon"),
    }


def test_a_public_policy_the_anonymous_role_cannot_use_is_no_finding(server: Server) -> None:
    # No grant for anon on the table, or a grant that is not the policy's command.
    assert lints(server, PUBLIC_POLICY, rule="public_policy") == []
    assert lints(server, PUBLIC_POLICY, "grant insert on public.projects to anon", rule="public_policy") == []
