"""Shapes real tenancy models take, each checked clean (no false alarm) and with its defect (caught, named).

Every schema here is our own SQL on an embedded PostgreSQL; the checks are the integrity invariants
the data-integrity suite runs (rollout_gate/integrity/invariants.py), on the model resolved from a
`tenancy:` block as an environment file writes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from rollout_gate.catalog import qualify
from rollout_gate.integrity import invariants, workspace
from tests.embedded import EmbeddedServer
from tests.integrity.shapes import Shapes, lines, model, shapes_server

LIMIT = 5


@pytest.fixture(scope="module")
def shapes(embedded_server: EmbeddedServer) -> Iterator[Shapes]:
    """A scope of the process's embedded PostgreSQL for the module; each test makes its own databases on it."""
    with shapes_server(embedded_server) as server:
        yield server


def connect(dsn: str) -> psycopg.Connection[Any]:
    return psycopg.connect(dsn, autocommit=True)


# ---- roles in an array column ------------------------------------------------------------------------

GROUPS = """
create schema app;
{role_type}
create table app.users (id uuid primary key default gen_random_uuid(), email text not null unique);
create table app.groups (id bigint generated always as identity primary key, name text not null);
create table app.group_members (
  group_id bigint not null references app.groups,
  user_id uuid not null references app.users,
  roles {roles} not null,
  primary key (group_id, user_id)
);
create table app.posts (
  id bigint generated always as identity primary key,
  group_id bigint not null references app.groups,
  author uuid references app.users,
  body text
);
create table app.comments (
  id bigint generated always as identity primary key,
  group_id bigint not null references app.groups,
  post_id bigint not null references app.posts,
  body text
);
insert into app.users (id, email) values
  ('00000000-0000-0000-0000-00000000000a', 'a@example.invalid'),
  ('00000000-0000-0000-0000-00000000000b', 'b@example.invalid'),
  ('00000000-0000-0000-0000-00000000000c', 'c@example.invalid');
insert into app.groups (name) values ('one'), ('two');
insert into app.group_members values
  (1, '00000000-0000-0000-0000-00000000000a', '{{owner,admin}}'),
  (1, '00000000-0000-0000-0000-00000000000b', '{{member}}'),
  (2, '00000000-0000-0000-0000-00000000000b', '{{admin,owner}}'),
  (2, '00000000-0000-0000-0000-00000000000c', '{{viewer}}');
insert into app.posts (group_id, author, body) values (1, '00000000-0000-0000-0000-00000000000a', 'x'),
  (2, '00000000-0000-0000-0000-00000000000c', 'y');
insert into app.comments (group_id, post_id, body) values (1, 1, 'first'), (2, 2, 'second');
"""

GROUPS_TENANCY: dict[str, Any] = {
    "user_table": "app.users",
    "tenant_table": "app.groups",
    "tenant_key": "group_id",
    "schemas": ["app"],
    "membership": {
        "table": "app.group_members",
        "tenant_column": "group_id",
        "role_column": "roles",
        "status_column": None,
        # A text[] column lists no values in the catalog: the owner role cannot be discovered.
        "owner_role": "owner",
    },
    "personal_workspace": "none",
}

ROLE_TYPES = {
    "text[]": ("", "text[]"),
    "enum[]": ("create type app.role as enum ('owner', 'admin', 'member', 'viewer');", "app.role[]"),
}


@pytest.mark.parametrize("kind", ROLE_TYPES)
def test_roles_in_an_array_column_are_read_as_an_array(shapes: Shapes, kind: str) -> None:
    role_type, roles = ROLE_TYPES[kind]
    schema = GROUPS.format(role_type=role_type, roles=roles)
    with connect(shapes.database(schema)) as conn:
        groups = model(conn, GROUPS_TENANCY)
        assert groups.problems == [] and groups.role_is_array
        # Clean: every group has a member holding `owner` among its roles; no crash, no false alarm.
        assert invariants.tenants_without_owner(conn, groups, LIMIT) == []
        assert invariants.users_without_active_membership(conn, groups, LIMIT) == []
        assert invariants.count_mismatches(invariants.counts(conn, groups), groups) == []
        roles = sql.Identifier("m", "roles")
        readers = sql.SQL("select count(*) from app.group_members m where {}").format(
            groups.has_any_role(roles, ["viewer", "member"])
        )
        assert conn.execute(readers).fetchone() == (2,)
        # The owner of group two is only an admin now: that group lacks an owner, and only that one.
        conn.execute("update app.group_members set roles = '{admin}' where group_id = 2 and 'owner' = any(roles)")
        assert lines(invariants.tenants_without_owner(conn, groups, LIMIT)) == [
            "app.groups: 1 tenants without an active 'owner' membership (e.g. 2)"
        ]


def test_a_scalar_role_column_is_still_compared_as_a_scalar(shapes: Shapes) -> None:
    schema = GROUPS.format(role_type="", roles="text").replace("'{", "'").replace("}'", "'")
    schema = schema.replace("'owner,admin'", "'owner'").replace("'admin,owner'", "'owner'")
    with connect(shapes.database(schema)) as conn:
        groups = model(conn, GROUPS_TENANCY)
        assert not groups.role_is_array
        assert invariants.tenants_without_owner(conn, groups, LIMIT) == []
        readers = sql.SQL("select count(*) from app.group_members m where {}").format(
            groups.has_any_role(sql.Identifier("m", "roles"), ["viewer", "member"])
        )
        assert conn.execute(readers).fetchone() == (2,)
        conn.execute("update app.group_members set roles = 'admin' where group_id = 2 and roles = 'owner'")
        assert [v.count for v in invariants.tenants_without_owner(conn, groups, LIMIT)] == [1]


# ---- per-table tenant keys and global rows --------------------------------------------------------------

CATALOG = """
create table public.users (id bigint primary key, email text not null unique);
create table public.organizations (id bigint primary key, name text not null);
create table public.memberships (
  organization_id bigint not null references public.organizations,
  user_id bigint not null references public.users,
  role text not null,
  status text not null default 'active',
  primary key (organization_id, user_id)
);
create table public.projects (
  id bigint primary key, organization_id bigint references public.organizations, name text
);
-- Another team wrote this one: its tenant key is org_id.
create table public.invoices (id bigint primary key, org_id bigint references public.organizations, total int);
-- Tags with a NULL organization are global (seeded for every tenant), as the runbook keeps them.
create table public.tags (id bigint primary key, organization_id bigint references public.organizations, name text);
-- Templates are global only where their scope says so.
create table public.templates (
  id bigint primary key, organization_id bigint references public.organizations, scope text not null, body text
);
create table public.project_tags (
  id bigint primary key,
  organization_id bigint not null references public.organizations,
  project_id bigint not null references public.projects,
  tag_id bigint not null references public.tags
);
insert into public.users values (1, 'a@example.invalid'), (2, 'b@example.invalid');
insert into public.organizations values (10, 'ten'), (20, 'twenty');
insert into public.memberships (organization_id, user_id, role) values (10, 1, 'owner'), (20, 2, 'owner');
insert into public.projects values (100, 10, 'p10'), (200, 20, 'p20');
insert into public.invoices values (1, 10, 5), (2, 20, 7);
insert into public.tags values (1, null, 'global'), (2, null, 'also global'), (3, 10, 'ten only');
insert into public.templates values (1, null, 'global', 'shared'), (2, 20, 'tenant', 'own');
insert into public.project_tags values (1, 10, 100, 1), (2, 20, 200, 2), (3, 10, 100, 3);
"""

CATALOG_TENANCY: dict[str, Any] = {
    "user_table": "public.users",
    "tenant_keys": {"public.invoices": "org_id"},
    "global_rows": {"public.tags": "organization_id is null", "public.templates": "scope = 'global'"},
    "personal_workspace": "none",
    # Plain text role and status columns list no values in the catalog: named, not discovered.
    "membership": {"owner_role": "owner", "active_value": "active"},
}


def test_a_per_table_tenant_key_makes_that_table_a_tenant_table(shapes: Shapes) -> None:
    with connect(shapes.database(CATALOG)) as conn:
        found = model(conn, CATALOG_TENANCY)
        assert found.problems == []
        assert {str(t.name): t.key for t in found.data_tables} == {
            "public.memberships": "organization_id", "public.projects": "organization_id",
            "public.invoices": "org_id", "public.tags": "organization_id", "public.templates": "organization_id",
            "public.project_tags": "organization_id",
        }  # fmt: skip
        assert found.tenant_table_of(qualify("public.tags")).global_rows == "organization_id is null"  # type: ignore[union-attr]
        # A key column the table lacks is named, not ignored.
        wrong = model(conn, {**CATALOG_TENANCY, "tenant_keys": {"public.invoices": "account_id"}})
        assert "tenancy.tenant_keys: public.invoices has no column account_id" in wrong.problems
        # Global rows of a table that is not a tenant table are a mistake in the file.
        stray = model(conn, {**CATALOG_TENANCY, "global_rows": {"public.users": "true"}})
        assert any(p.startswith("tenancy.global_rows: public.users is not a tenant table") for p in stray.problems)


def test_declared_global_rows_pass_and_every_other_null_key_fails(shapes: Shapes) -> None:
    with connect(shapes.database(CATALOG)) as conn:
        found = model(conn, CATALOG_TENANCY)
        # Clean: the NULL-organization tags and the global template are global; children of a global tag
        # are in their own tenant, not the tag's.
        assert invariants.tenant_key_problems(conn, found, LIMIT) == []
        assert invariants.cross_tenant_children(conn, found, LIMIT) == []
        assert invariants.orphans(conn, found, LIMIT) == []
        # Without the declaration the same rows are findings: the check is not blind to NULL keys.
        undeclared = model(conn, {**CATALOG_TENANCY, "global_rows": {}})
        assert lines(invariants.tenant_key_problems(conn, undeclared, LIMIT)) == [
            "public.tags: 2 rows with NULL organization_id (e.g. id=1; id=2)",
            "public.templates: 1 rows with NULL organization_id (e.g. id=1)",
        ]
        assert [v.count for v in invariants.cross_tenant_children(conn, undeclared, LIMIT)] == [2]

        conn.execute(
            "insert into public.templates values (3, null, 'tenant', 'lost its tenant');"
            "update public.invoices set org_id = null where id = 2;"
            "update public.projects set organization_id = null where id = 200;"
            # Loaded with foreign keys off (session_replication_role = replica), as a bulk backfill may be.
            "set session_replication_role = replica; insert into public.invoices values (3, 99, 1);"
        )
        assert lines(invariants.tenant_key_problems(conn, found, LIMIT)) == [
            "public.invoices: 1 rows with NULL org_id (e.g. id=2)",
            "public.invoices: 1 rows whose org_id names no row of public.organizations (e.g. id=3 -> 99)",
            "public.projects: 1 rows with NULL organization_id (e.g. id=200)",
            "public.templates: 1 rows with NULL organization_id not declared global (e.g. id=3)",
        ]


def test_a_child_in_another_tenant_than_a_tenant_parent_still_fails_next_to_global_rows(shapes: Shapes) -> None:
    with connect(shapes.database(CATALOG)) as conn:
        found = model(conn, CATALOG_TENANCY)
        conn.execute("update public.project_tags set organization_id = 20 where id = 3")  # tag 3 belongs to 10
        found_lines = lines(invariants.cross_tenant_children(conn, found, LIMIT))
        assert len(found_lines) == 2, found_lines  # its project (10) and its tag (10) both disagree
        assert all(
            line.startswith("public.project_tags: 1 rows in another tenant than their parent") for line in found_lines
        )
        assert any("(tag_id) -> public.tags(id)" in line and "id=3 (20 vs parent 10)" in line for line in found_lines)


# ---- a boolean personal marker next to a primary owner every account has ------------------------------

ACCOUNTS = """
create schema basejump;
create type basejump.account_role as enum ('owner', 'member');
create table basejump.users (id uuid primary key default gen_random_uuid(), email text not null unique);
create table basejump.accounts (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  personal_account boolean not null default false,
  primary_owner_user_id uuid not null references basejump.users
);
create table basejump.account_user (
  account_id uuid not null references basejump.accounts on delete cascade,
  user_id uuid not null references basejump.users on delete cascade,
  account_role basejump.account_role not null,
  primary key (account_id, user_id)
);
create table basejump.notes (
  id bigint generated always as identity primary key,
  account_id uuid not null references basejump.accounts on delete cascade,
  body text
);
create function basejump.ensure_personal_account(uid uuid) returns uuid language plpgsql as $$
declare found uuid;
begin
  perform pg_advisory_xact_lock(hashtext(uid::text));
  select id into found from basejump.accounts where primary_owner_user_id = uid and personal_account;
  if found is null then
    insert into basejump.accounts (name, personal_account, primary_owner_user_id)
      values ('personal', true, uid) returning id into found;
    insert into basejump.account_user values (found, uid, 'owner');
  end if;
  return found;
end $$;
insert into basejump.users (id, email) values
  ('00000000-0000-0000-0000-00000000000a', 'a@example.invalid'),
  ('00000000-0000-0000-0000-00000000000b', 'b@example.invalid'),
  ('00000000-0000-0000-0000-00000000000c', 'c@example.invalid');
select basejump.ensure_personal_account(id) from basejump.users;
-- A team account: its primary owner is a, b is a member. It is not anyone's personal workspace.
insert into basejump.accounts (id, name, primary_owner_user_id)
  values ('00000000-0000-0000-0000-0000000000f0', 'team', '00000000-0000-0000-0000-00000000000a');
insert into basejump.account_user values
  ('00000000-0000-0000-0000-0000000000f0', '00000000-0000-0000-0000-00000000000a', 'owner'),
  ('00000000-0000-0000-0000-0000000000f0', '00000000-0000-0000-0000-00000000000b', 'member');
insert into basejump.notes (account_id, body) select id, 'n' from basejump.accounts;
"""

ACCOUNTS_TENANCY: dict[str, Any] = {
    "user_table": "basejump.users",
    "tenant_table": "basejump.accounts",
    "tenant_key": "account_id",
    "schemas": ["basejump"],
    "membership": {
        "table": "basejump.account_user",
        "tenant_column": "account_id",
        "role_column": "account_role",
        "status_column": None,
    },
    "personal_workspace": {
        "function": "basejump.ensure_personal_account",
        "owner_column": "primary_owner_user_id",
        "predicate": "personal_account",
        "call_as": "admin",
    },
}


def test_a_team_account_is_not_counted_as_a_personal_workspace(shapes: Shapes) -> None:
    with connect(shapes.database(ACCOUNTS)) as conn:
        accounts = model(conn, ACCOUNTS_TENANCY)
        assert accounts.problems == []
        assert invariants.personal_workspace_problems(conn, accounts, LIMIT) == []
        found = invariants.counts(conn, accounts)
        assert (found.users, found.tenants, found.personal_workspaces) == (3, 4, 3)
        assert invariants.count_mismatches(found, accounts) == []
        # Told apart by the owner column alone, the team account would be a's second personal workspace.
        by_owner = {**ACCOUNTS_TENANCY, "personal_workspace": {"owner_column": "primary_owner_user_id"}}
        assert lines(invariants.personal_workspace_problems(conn, model(conn, by_owner), LIMIT)) == [
            "basejump.accounts: 1 users with more than one personal workspace "
            "(e.g. 00000000-0000-0000-0000-00000000000a (2 workspaces))"
        ]


def test_a_personal_workspace_lost_or_doubled_is_caught_by_the_marker(shapes: Shapes) -> None:
    with connect(shapes.database(ACCOUNTS)) as conn:
        accounts = model(conn, ACCOUNTS_TENANCY)
        # c's personal account lost its marker; b got a second personal account.
        conn.execute(
            "update basejump.accounts set personal_account = false "
            "where primary_owner_user_id = '00000000-0000-0000-0000-00000000000c';"
            "insert into basejump.accounts (name, personal_account, primary_owner_user_id) "
            "values ('again', true, '00000000-0000-0000-0000-00000000000b')"
        )
        found = lines(invariants.personal_workspace_problems(conn, accounts, LIMIT))
        assert found[0] == (
            "basejump.accounts: 1 users with more than one personal workspace "
            "(e.g. 00000000-0000-0000-0000-00000000000b (2 workspaces))"
        )
        assert found[1] == (
            "basejump.users: 1 users without a personal workspace (e.g. 00000000-0000-0000-0000-00000000000c)"
        )
        assert found[2].startswith("basejump.accounts: 1 personal workspaces whose owner is not their active owner")
        # 3 personal accounts again, for 3 users: the count alone cannot tell; the per-user checks above do.
        assert invariants.counts(conn, accounts).personal_workspaces == 3


def test_the_workspace_function_is_judged_by_the_marker(shapes: Shapes) -> None:
    with connect(shapes.database(ACCOUNTS)) as conn:
        accounts = model(conn, ACCOUNTS_TENANCY)
        reports = workspace.sequential(conn, accounts, "rg_shapes_")
        assert [r.problems for r in reports] == [[], []]
        # A function that makes a fresh personal account at every call is not idempotent.
        conn.execute(
            "create or replace function basejump.ensure_personal_account(uid uuid) returns uuid language sql as $$"
            " with a as (insert into basejump.accounts (name, personal_account, primary_owner_user_id)"
            " values ('p', true, uid) returning id), m as (insert into basejump.account_user"
            " select id, uid, 'owner' from a) select id from a $$"
        )
        problems = [p for r in workspace.sequential(conn, accounts, "rg_shapes_") for p in r.problems]
        assert any("personal workspaces, expected exactly 1" in p for p in problems), problems


# ---- a lazy migration: the workspace is made at first sign-in ------------------------------------------

LAZY = """
create schema app;
create table app.users (id bigint primary key, email text not null unique, last_sign_in_at timestamptz);
create table app.orgs (
  id bigint generated always as identity primary key,
  personal_owner_id bigint unique references app.users
);
create table app.members (
  org_id bigint not null references app.orgs,
  user_id bigint not null references app.users,
  role text not null,
  primary key (org_id, user_id)
);
create table app.notes (
  id bigint primary key,
  user_id bigint not null references app.users,
  org_id bigint references app.orgs,
  body text
);
-- Deployed 2025-06-01. Users 1 and 2 signed in since; 3 last signed in before, 4 never.
insert into app.users values
  (1, 'a@example.invalid', '2025-06-02 10:00+00'), (2, 'b@example.invalid', '2025-06-01 00:00+00'),
  (3, 'c@example.invalid', '2025-05-20 08:00+00'), (4, 'd@example.invalid', null);
insert into app.orgs (personal_owner_id) values (1), (2);
insert into app.members values (1, 1, 'owner'), (2, 2, 'owner');
insert into app.notes values (1, 1, 1, 'a'), (2, 1, 1, 'a'), (3, 2, 2, 'b'), (4, 3, null, 'c'), (5, 3, null, 'c'),
  (6, 4, null, 'd');
"""

LAZY_TENANCY: dict[str, Any] = {
    "user_table": "app.users",
    "tenant_table": "app.orgs",
    "tenant_key": "org_id",
    "schemas": ["app"],
    "membership": {"table": "app.members", "tenant_column": "org_id", "status_column": None, "owner_role": "owner"},
    "personal_workspace": {"function": None, "owner_column": "personal_owner_id"},
    "migration": {
        "mode": "lazy", "deployed_at": "2025-06-01T00:00:00Z", "signed_in_column": "last_sign_in_at",
        "owner_column": "user_id",
    },
}  # fmt: skip


def all_findings(conn: psycopg.Connection[Any], found: Any) -> list[str]:
    return lines(
        invariants.users_without_active_membership(conn, found, LIMIT)
        + invariants.personal_workspace_problems(conn, found, LIMIT)
        + invariants.tenant_key_problems(conn, found, LIMIT)
    ) + invariants.count_mismatches(invariants.counts(conn, found), found)


def test_a_lazy_migration_midway_is_clean(shapes: Shapes) -> None:
    with connect(shapes.database(LAZY)) as conn:
        lazy = model(conn, LAZY_TENANCY)
        assert lazy.problems == []
        assert all_findings(conn, lazy) == []
        assert invariants.counts(conn, lazy).signed_in == 2
        # Read as an eager migration, the users yet to sign in and their rows are findings.
        eager = model(conn, {**LAZY_TENANCY, "migration": {"mode": "eager"}})
        assert all_findings(conn, eager) == [
            "app.users: 2 users without an active membership (e.g. 3; 4)",
            "app.users: 2 users without a personal workspace (e.g. 3; 4)",
            "app.notes: 3 rows with NULL org_id (e.g. id=4; id=5; id=6)",
            "personal workspaces created (2) != users (4): 2 missing",
        ]


def test_a_user_who_signed_in_without_getting_a_workspace_is_caught(shapes: Shapes) -> None:
    with connect(shapes.database(LAZY)) as conn:
        lazy = model(conn, LAZY_TENANCY)
        conn.execute("update app.users set last_sign_in_at = '2025-06-03 09:00+00' where id = 3")  # c signs in
        assert all_findings(conn, lazy) == [
            "app.users: 1 users signed in since the deploy without an active membership (e.g. 3)",
            "app.users: 1 users signed in since the deploy without a personal workspace (e.g. 3)",
            "app.notes: 2 rows with NULL org_id not awaiting their user's first sign-in (by user_id) (e.g. id=4; id=5)",
            "personal workspaces created (2) != users signed in since the deploy (3): 1 missing",
        ]


def test_rows_of_a_user_not_migrated_yet_taken_into_another_tenant_are_caught(shapes: Shapes) -> None:
    with connect(shapes.database(LAZY)) as conn:
        lazy = model(conn, LAZY_TENANCY)
        # The classic first-sign-in bug: "update notes set org_id = new where org_id is null" takes everyone's.
        conn.execute("update app.notes set org_id = 1 where org_id is null and user_id = 3")
        assert lines(invariants.tenant_key_problems(conn, lazy, LIMIT)) == [
            "app.notes: 2 rows awaiting their user's first sign-in (by user_id) in a tenant that user is no active "
            "member of (e.g. id=4 -> 1; id=5 -> 1)"
        ]


def test_a_migrated_users_row_left_without_a_tenant_is_caught(shapes: Shapes) -> None:
    with connect(shapes.database(LAZY)) as conn:
        lazy = model(conn, LAZY_TENANCY)
        conn.execute("update app.notes set org_id = null where id = 3")  # user 2 is migrated
        assert lines(invariants.tenant_key_problems(conn, lazy, LIMIT)) == [
            "app.notes: 1 rows with NULL org_id not awaiting their user's first sign-in (by user_id) (e.g. id=3)"
        ]


def test_a_lazy_migration_names_the_keys_it_needs(shapes: Shapes) -> None:
    with connect(shapes.database(LAZY)) as conn:
        wrong = {**LAZY_TENANCY["migration"], "signed_in_column": "last_login", "owner_column": "owner"}
        found = model(conn, {**LAZY_TENANCY, "migration": wrong})
        assert found.problems == [
            "tenancy.migration.signed_in_column: app.users has no column last_login",
            "tenancy.migration.owner_column: no tenant table has a column owner",
        ]
