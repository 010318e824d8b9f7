"""Discovery of the tenancy block from the catalog, on four shapes of real schemas (tests/catalog/databases.py).

The reference schema is discovered to the names environments/local.yaml writes out (the proof that
discovery reads the reference right); the accounts model needs none of its tenancy table/column keys;
the teams shape (Supabase claims, text[] roles, an enum state, a per-table key) is read as it is; a tie
is reported with both candidates and left to the user, never resolved by picking one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from rollout_gate.catalog import read_catalog, resolve_tenancy
from rollout_gate.catalog.discover import catalog_for, column_values, complete, discover, user_table_from
from rollout_gate.catalog.discover_set import tenancy_for_lint, tenancy_from_set
from rollout_gate.catalog.model import Check, Column, Table
from rollout_gate.catalog.names import QualifiedName
from rollout_gate.config import ConfigError, load_environment
from rollout_gate.config.models import TenancyConfig
from rollout_gate.reference_app import migrations_dir
from tests.catalog.databases import ACCOUNTS, Models, model_databases
from tests.embedded import EmbeddedServer
from tests.rehearsal import ROOT

HERE = Path(__file__).resolve().parent
# The keys environments/local.yaml spells out for the reference schema.
REFERENCE_KEYS = (
    "user_table", "user_key", "tenant_table", "tenant_table_key", "tenant_key", "membership.table",
    "membership.user_column", "membership.tenant_column", "membership.role_column", "membership.status_column",
    "membership.active_value", "membership.owner_role", "roles", "personal_workspace.function",
    "personal_workspace.owner_column",
)  # fmt: skip


@pytest.fixture(scope="module")
def models(embedded_server: EmbeddedServer) -> Iterator[Models]:
    with model_databases(embedded_server) as found:
        yield found


def _value(config: TenancyConfig, key: str) -> object:
    node: object = config
    for part in key.split("."):
        node = getattr(node, part)
    return node


def _accounts_env(models: Models, name: str) -> TenancyConfig:
    environ = {"ACCOUNTS_DSN": "postgresql://x@127.0.0.1/x", "ACCOUNTS_MEMBER_ROLE": models.member,
               "ACCOUNTS_ANON_ROLE": models.anon}  # fmt: skip
    return load_environment(Path(name), environ).env.tenancy


def test_the_reference_schema_is_discovered_to_the_names_local_yaml_writes(models: Models) -> None:
    local = load_environment(ROOT / "environments/local.yaml").env.tenancy
    found = discover(models.catalog("reference", ["public"]))
    expected = {key: _value(local, key) for key in REFERENCE_KEYS}
    assert expected["user_key"] is expected["tenant_table_key"] is None  # local.yaml leaves the keys out: both id
    # The reference's roles are discovered from its CHECK: the same capabilities local.yaml gets by default.
    expected.update(user_key="id", tenant_table_key="id", roles={r: list(c) for r, c in local.roles.root.items()})
    assert {key: found.value(key) for key in REFERENCE_KEYS} == expected
    assert found.value("invitations.table") == "public.invitations"
    assert found.value("invitations.accept_function") == "public.accept_invitation"
    assert (found.value("impersonation.mode"), found.value("impersonation.role")) == ("supabase", "authenticated")
    assert found.role_values == ("owner", "admin", "member", "viewer")
    assert found.status_values == ("active", "suspended")
    assert "9 foreign key(s) point at it" in found["user_table"].evidence
    assert "referenced by 5 table(s)" in found["tenant_table"].evidence
    assert not found.tenant_keys


def test_an_environment_without_tenancy_keys_resolves_the_reference_like_local_yaml(models: Models) -> None:
    local = load_environment(ROOT / "environments/local.yaml").env.tenancy
    bare = TenancyConfig(global_tables=local.global_tables)
    with psycopg.connect(models.dsn("reference")) as conn:
        catalog = catalog_for(conn, bare)
        full = resolve_tenancy(local, catalog_for(conn, local))
    model = resolve_tenancy(bare, catalog)
    assert model.problems == []
    assert model.config.membership == full.config.membership
    assert (model.user_table, model.tenant_table, model.membership_table) == (
        full.user_table, full.tenant_table, full.membership_table,
    )  # fmt: skip
    assert model.tenant_tables == full.tenant_tables


def test_the_accounts_model_is_discovered(models: Models) -> None:
    found = discover(models.catalog("accounts", ["app"]))
    assert {key: found.value(key) for key in REFERENCE_KEYS} == {
        "user_table": "app.app_users", "user_key": "id", "tenant_table": "app.accounts", "tenant_table_key": "id",
        "tenant_key": "account_id", "membership.table": "app.account_user", "membership.user_column": "app_user_id",
        "membership.tenant_column": "account_id", "membership.role_column": "access",
        "membership.status_column": None, "membership.active_value": None, "membership.owner_role": "owner",
        "roles": {"owner": ["read", "write", "manage_memberships", "manage_invitations"], "editor": ["read", "write"],
                  "reader": ["read"]},
        "personal_workspace.function": "app.ensure_account",
        "personal_workspace.owner_column": "owner_user_id",
    }  # fmt: skip
    # account_user is named like a user table but references app_users: a join table, not the users.
    assert "3" in found["user_table"].evidence
    assert found["membership.status_column"].looked and not found["membership.status_column"].found
    assert (found.value("impersonation.mode"), found.value("impersonation.setting")) == ("setting", "app.user_id")
    assert found.value("impersonation.setting_value") == "user"
    assert "app.current_user_id" in found["impersonation.mode"].evidence


def test_the_accounts_model_needs_none_of_its_tenancy_table_and_column_keys(models: Models) -> None:
    full = _accounts_env(models, str(ACCOUNTS / "accounts.yaml"))
    short = _accounts_env(models, str(HERE / "accounts_short.yaml"))
    assert short.user_table is None and short.membership.table is None and short.personal_workspace.function is None
    roles = [models.member, models.anon]
    with psycopg.connect(models.dsn("accounts")) as conn:
        resolved = [resolve_tenancy(c, catalog_for(conn, c, roles=roles)) for c in (full, short)]
    assert [m.problems for m in resolved] == [[], []]
    by_full, by_short = resolved
    assert by_short.config.membership == by_full.config.membership
    assert by_short.config.personal_workspace == by_full.config.personal_workspace
    assert by_short.tenant_tables == by_full.tenant_tables
    assert by_short.global_tables == by_full.global_tables
    lines = [line for line in (HERE / "accounts_short.yaml").read_text().splitlines() if not line.startswith("#")]
    assert len(lines) < len((ACCOUNTS / "accounts.yaml").read_text().splitlines()) - 12


def test_a_third_shape_teams_with_array_roles_and_supabase_claims(models: Models) -> None:
    found = discover(models.catalog("teams", ["public"]))
    assert {key: found.value(key) for key in REFERENCE_KEYS} == {
        "user_table": "auth.users", "user_key": "id", "tenant_table": "public.teams", "tenant_table_key": "id",
        "tenant_key": "team_id", "membership.table": "public.team_members", "membership.user_column": "member_id",
        "membership.tenant_column": "team_id", "membership.role_column": "roles", "membership.status_column": "state",
        "membership.active_value": "active", "membership.owner_role": "owner",
        "roles": {"owner": ["read", "write", "manage_memberships", "manage_invitations"], "editor": ["read", "write"],
                  "viewer": ["read"]},
        "personal_workspace.function": "public.bootstrap_member",
        "personal_workspace.owner_column": None,
    }  # fmt: skip
    # docs keys its team by another column: reported as a per-table override, not dropped.
    assert found.tenant_keys == {"public.docs": "owning_team"}
    assert found.role_values == ("owner", "editor", "viewer")
    assert "array of roles" in found["membership.owner_role"].evidence
    assert found.status_values == ("invited", "active", "banned")
    assert "enum member_state" in found["membership.active_value"].evidence
    # team_invites references users and teams too, but is named like invitations: not the membership table.
    assert found.value("invitations.table") == "public.team_invites"
    assert found.value("invitations.accept_function") == "public.accept_team_invite"
    assert found.value("impersonation.mode") == "supabase"
    assert "request.jwt.claims" in found["impersonation.mode"].evidence
    assert "no unique column of public.teams" in found["personal_workspace.owner_column"].evidence


def test_a_tie_is_reported_with_both_candidates_and_left_to_the_user(models: Models) -> None:
    catalog = models.catalog("tie", ["public"])
    found = discover(catalog)
    guess = found["tenant_table"]
    assert guess.ambiguous and guess.value is None
    assert guess.candidates == ("public.companies", "public.workspaces")
    assert "ambiguous: public.companies and public.workspaces are each referenced by 2 table(s)" in guess.evidence
    # What depends on the tenant table is not guessed either.
    assert not found["membership.table"].found and not found["membership.table"].looked
    model = resolve_tenancy(TenancyConfig(), catalog)
    assert model.problems[0].startswith(
        "tenancy.tenant_table: not set and not discoverable: ambiguous: public.companies and public.workspaces"
    )
    assert model.tenant_tables == []
    # Naming the tenant table settles it, and the rest follows from it.
    named = discover(catalog, TenancyConfig(tenant_table="public.workspaces"))
    assert named.value("tenant_key") == "workspace_id"


def test_a_key_that_cannot_be_discovered_is_one_problem_line_naming_it(models: Models) -> None:
    catalog = models.catalog("accounts", ["app"])
    config = TenancyConfig.model_validate({"schemas": ["app"], "membership": {"role_column": "title"}})
    resolved, problems = complete(config, catalog)
    # The given (wrong) role column is kept; with no values known the owner role cannot be discovered.
    assert resolved.membership.role_column == "title"
    assert problems == [
        "tenancy.membership.owner_role: not set and not discoverable: app.account_user has no column title",
    ]
    model = resolve_tenancy(config, catalog)
    assert model.problems == problems


def test_keys_written_as_null_mean_none_not_discover(models: Models) -> None:
    catalog = models.catalog("reference", ["public"])
    config = TenancyConfig.model_validate(
        {"membership": {"status_column": None}, "personal_workspace": {"function": None}}
    )
    resolved, problems = complete(config, catalog)
    assert problems == []
    assert resolved.membership.status_column is None and resolved.membership.active_value is None
    assert resolved.personal_workspace.function is None
    assert resolved.personal_workspace.owner_column == "personal_owner_id"  # left out: discovered


def test_before_the_migration_the_user_table_is_found_and_the_tenancy_comes_from_the_set(models: Models) -> None:
    with psycopg.connect(models.dsn("reference_v1")) as conn:
        assert user_table_from(conn, TenancyConfig()) == ("auth.users", "id")
        files = sorted(migrations_dir().glob("*.sql"))
        assert tenancy_for_lint(files, TenancyConfig(), conn) == ("public.organizations", "organization_id")
        # A set that does not create the tenancy, on a target that has none: one line naming the key.
        with pytest.raises(ConfigError, match=r"^tenancy\.tenant_table: not set and not discoverable from the "
                           r"migration set: no table the migration set creates is referenced by another; nor from "
                           r"the target's catalog: ambiguous: public\.clients and public\.projects"):  # fmt: skip
            tenancy_for_lint([ACCOUNTS / "migration.sql"], TenancyConfig(), conn)
    with psycopg.connect(models.dsn("accounts")) as conn:
        # The accounts migration adds a table to a tenancy that exists: the target's catalog names it.
        config = TenancyConfig(schemas=("app",))
        assert tenancy_for_lint([ACCOUNTS / "migration.sql"], config, conn) == ("app.accounts", "account_id")
    assert tenancy_from_set(files, "public.organizations", None) == ("public.organizations", "organization_id")


def test_read_catalog_reaches_referenced_tables_only_when_asked(models: Models) -> None:
    with psycopg.connect(models.dsn("reference")) as conn:
        plain = read_catalog(conn, ["public"])
        referenced = read_catalog(conn, ["public"], referenced=True)
    assert ("auth", "users") not in plain.tables and ("auth", "users") in referenced.tables
    assert set(referenced.tables) - set(plain.tables) == {("auth", "users")}


def test_roles_a_check_lists_as_an_array_literal_are_its_elements() -> None:
    # `roles <@ '{owner,admin,member}'` (groups_textarray) as the server prints it: three roles, not one
    # value "{owner,admin,member}" (which named no owner and left membership.owner_role undiscoverable).
    roles = Column("roles", "text[]", not_null=True)
    defined = {
        "groups": "CHECK (((roles <@ '{owner,admin,member}'::text[]) AND (cardinality(roles) > 0)))",
        "quoted": """CHECK ((roles <@ '{"read only",owner,NULL}'::text[]))""",
        "array[]": "CHECK ((roles <@ ARRAY['owner'::text, 'editor'::text, 'viewer'::text]))",
    }
    found = {}
    for kind, definition in defined.items():
        table = Table(QualifiedName("public", "members"), "app", {"roles": roles},
                      checks=(Check(f"{kind}_roles", ("roles",), definition),))  # fmt: skip
        found[kind] = column_values(table, "roles")[0]
    assert found == {
        "groups": ("owner", "admin", "member"),
        "quoted": ("read only", "owner"),
        "array[]": ("owner", "editor", "viewer"),
    }
