"""db_role_rules on a schema that is not the reference: the accounts model (roles owner/editor/reader, no
status column, no invitations, `SET ROLE` + app.user_id), with its role column as text and as text[]."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import psycopg
import pytest

from rollout_gate.integrity.fingerprint import take_snapshot
from tests.isolation.test_other_tenancy_model import Accounts, harness, statuses
from tests.isolation.test_other_tenancy_model import accounts as accounts  # its fixture
from tests.isolation.test_role_matrix_defects import SUMMARY

SUITE = "suites/tenant_isolation/test_db_role_rules.py"

# The same model with `access text[]`: the kind of the role column is read from the catalog.
ARRAY_ROLES = """
alter table app.account_user drop constraint account_user_access_check;
alter table app.account_user alter column access type text[] using array[access];
alter table app.account_user add constraint account_user_access_check
    check (access <> '{}' and access <@ array['owner', 'editor', 'reader']);
create or replace function app.my_writable_accounts() returns setof bigint language sql stable security definer
    set search_path = app, pg_temp
as $$ select account_id from app.account_user
      where app_user_id = app.current_user_id() and access && array['owner', 'editor'] $$;
create or replace function app.is_owner(acct bigint) returns boolean language sql stable security definer
    set search_path = app, pg_temp
as $$ select exists (select 1 from app.account_user
                     where account_id = acct and app_user_id = app.current_user_id() and 'owner' = any(access)) $$;
-- Owners change roles here (the others cannot): the matrix sets array roles, not only inserts them.
create policy account_user_owners_change on app.account_user for update
    using (app.is_owner(account_id)) with check (app.is_owner(account_id));
grant update (access) on app.account_user to :member;
"""
# A policy-only defect: readers write (the helper forgets to leave them out).
READERS_WRITE = """
create or replace function app.my_writable_accounts() returns setof bigint language sql stable security definer
    set search_path = app, pg_temp
as $$ select account_id from app.account_user where app_user_id = app.current_user_id() $$;
"""


def _database(accounts: Accounts, name: str, *extra: str) -> str:
    dsn = accounts.database(name, "migration.sql")
    with psycopg.connect(dsn, autocommit=True) as conn:
        for text in extra:
            conn.execute(text.replace(":member", f'"{accounts.member}"'))  # type: ignore[arg-type]
    return dsn


def _matrix(accounts: Accounts, dsn: str, tmp_path: Path, *, writes: bool = True) -> tuple[int, str, dict[str, Any]]:
    return harness(dsn, accounts, tmp_path / "reports", "--phase=post-migration", "-rA", SUITE, writes=writes)


def _conclusive(output: str) -> str:
    found = SUMMARY.search(output)
    assert found, output
    actors, cells, ok, failing, inconclusive = (int(found.group(i)) for i in range(1, 6))
    # owner, editor, reader and a non-member (no status column: no inactive member), plus the tenant's own
    # two owners, positive controls only.
    assert (actors, failing, inconclusive) == (6, 0, 0) and cells == ok > 0, found.group(0)
    return found.group(0)


def test_clean_accounts_model_passes_db_role_rules(accounts: Accounts, tmp_path: Path) -> None:
    code, output, gate = _matrix(accounts, _database(accounts, "acct_roles_clean"), tmp_path)
    assert code == 0 and gate["verdict"] == "GO", output
    assert statuses(gate)["db_role_rules"] == "pass", output
    print(_conclusive(output))


def test_roles_in_an_array_column_pass_when_the_policies_hold(accounts: Accounts, tmp_path: Path) -> None:
    code, output, gate = _matrix(accounts, _database(accounts, "acct_roles_array", ARRAY_ROLES), tmp_path)
    assert code == 0 and gate["verdict"] == "GO", output
    assert statuses(gate)["db_role_rules"] == "pass", output
    # The owner's control stored `{reader,owner}`; the reader's own attempt stored nothing.
    raised = r"app\.account_user: RAISE_ROLE as reader \(user \d+\) against tenant \d+: touched 0 rows; control: owner"
    assert re.search(raised, output), output
    assert "SELF_JOIN as non-member" in output, output
    print(_conclusive(output))


@pytest.mark.parametrize("roles", ["text", "text[]"])
def test_readers_who_write_fail_db_role_rules(accounts: Accounts, tmp_path: Path, roles: str) -> None:
    extra = (ARRAY_ROLES, READERS_WRITE) if roles == "text[]" else (READERS_WRITE,)
    dsn = _database(accounts, f"acct_roles_readers_{'array' if roles == 'text[]' else 'text'}", *extra)
    code, output, gate = _matrix(accounts, dsn, tmp_path)
    assert code != 0 and gate["verdict"] != "GO", output
    assert statuses(gate)["db_role_rules"] == "fail", output
    updated = r"app\.invoices: UPDATE as reader \(user \d+\) against tenant \d+: stored a new version of id="
    assert re.search(updated, output), output
    assert re.search(r"app\.invoice_lines: INSERT as reader \(user \d+\) .*: stored a row id=\d+ in tenant", output)
    assert f"FAILED {SUITE}::test_read_only_roles_cannot_write_tenant_data" in output, output
    for passing in ("test_only_managers_manage", "test_nobody_raises", "test_inactive_members_and_non_members"):
        assert f"PASSED {SUITE}::{passing}" in output, (passing, output)


def test_where_writes_are_forbidden_the_matrix_is_not_applicable_and_writes_nothing(
    accounts: Accounts, tmp_path: Path
) -> None:
    dsn = _database(accounts, "acct_roles_read_only")
    with psycopg.connect(dsn, autocommit=True) as conn:
        before = take_snapshot(conn, ["app"])
    _, output, gate = _matrix(accounts, dsn, tmp_path, writes=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert take_snapshot(conn, ["app"]) == before
    criterion = next(c for c in gate["criteria"] if c["id"] == "db_role_rules")
    assert criterion["status"] == "inconclusive", output
    assert criterion["reason"].startswith("not applicable here: accounts forbids writes"), criterion
    assert "role matrix on tenant" not in output, output
