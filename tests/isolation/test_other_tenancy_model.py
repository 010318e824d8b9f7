"""The suites work on a schema that is not the reference app, described only by an environment file.

`accounts_model/` is a team's own schema (accounts, account_id, account_user, bigint keys, SET ROLE +
app.user_id impersonation). The test runs the harness the way CI would against a remote target:
a pre-deploy job records the baseline (`--baseline` carries it), the migration is applied, and a
post-migration job runs `-m "integrity or isolation"`. The clean migration is GO; each defect is not.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from rollout_gate.catalog import qualify, read_catalog, resolve_tenancy
from rollout_gate.config import load_environment
from rollout_gate.integrity.fingerprint import take_snapshot
from rollout_gate.local.cluster import ClusterInfo
from tests.embedded import EmbeddedServer
from tests.rehearsal import ROOT

MODEL = Path(__file__).resolve().parent / "accounts_model"
SUITES = ("suites/data_integrity", "suites/tenant_isolation/test_rls_coverage.py",
          "suites/tenant_isolation/test_lints.py", "suites/tenant_isolation/test_cross_tenant_probes.py")  # fmt: skip


@dataclass
class Accounts:
    info: ClusterInfo
    member: str
    anon: str
    baseline: Path

    def sql(self, name: str) -> str:
        text = (MODEL / name).read_text()
        return re.sub(r"(?<!:):(member|anon)\b", lambda m: f'"{getattr(self, m.group(1))}"', text)

    def database(self, name: str, *files: str) -> str:
        """A copy of the pre-migration database with `files` applied; returns its DSN."""
        with psycopg.connect(self.info.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("create database {} template accounts_v1").format(sql.Identifier(name)))
        dsn = self.info.dsn(name)
        with psycopg.connect(dsn, autocommit=True) as conn:
            for file in files:
                conn.execute(self.sql(file))  # type: ignore[arg-type]
        return dsn


def harness(
    dsn: str, accounts: Accounts, reports: Path, *args: str, writes: bool = True
) -> tuple[int, str, dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLOUT_", "PYTEST_"))}
    env.update(ACCOUNTS_DSN=dsn, ACCOUNTS_MEMBER_ROLE=accounts.member, ACCOUNTS_ANON_ROLE=accounts.anon)
    env["ACCOUNTS_ALLOW_WRITES"] = "true" if writes else "false"
    argv = [
        sys.executable, "-m", "pytest", f"--env={MODEL / 'accounts.yaml'}", f"--report-dir={reports}",
        f"--baseline={accounts.baseline}", "-p", "no:cacheprovider", "-q", "-rfE", *args,
    ]  # fmt: skip
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    gate = json.loads((reports / "gate.json").read_text()) if (reports / "gate.json").is_file() else {}
    return proc.returncode, proc.stdout + proc.stderr, gate


def statuses(gate: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["status"] for c in gate.get("criteria", [])}


@pytest.fixture(scope="module")
def accounts(embedded_server: EmbeddedServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Accounts]:
    """The accounts schema with data in a scope of the process's embedded server, and its pre-deploy baseline."""
    suffix = secrets.token_hex(3)
    with embedded_server.scope() as scope:
        accounts = Accounts(
            scope.info, f"acct_member_{suffix}", f"acct_anon_{suffix}", tmp_path_factory.mktemp("ci") / "b.json"
        )
        with psycopg.connect(scope.dsn(), autocommit=True) as conn:
            for role in (accounts.member, accounts.anon):
                conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))
        scope.database(accounts.sql("schema.sql"), accounts.sql("data.sql"), name="accounts_v1")
        code, output, gate = harness(
            scope.dsn("accounts_v1"), accounts, tmp_path_factory.mktemp("predeploy"),
            "--phase=pre-deploy", "suites/predeploy/test_baseline.py",
        )  # fmt: skip
        assert code == 0 and statuses(gate).get("baseline_recorded") == "pass", output
        yield accounts


def post_migration(accounts: Accounts, name: str, tmp_path: Path, *files: str) -> tuple[int, str, dict[str, Any]]:
    dsn = accounts.database(name, "migration.sql", *files)
    return harness(
        dsn, accounts, tmp_path / "reports", "--phase=post-migration", "-m", "integrity or isolation", *SUITES
    )


def test_clean_migration_of_another_tenancy_model_is_go(accounts: Accounts, tmp_path: Path) -> None:
    code, output, gate = post_migration(accounts, "accounts_clean", tmp_path)
    assert code == 0, output
    assert gate["verdict"] == "GO", output
    found = statuses(gate)
    for criterion in ("zero_data_loss", "every_user_has_workspace", "every_organization_has_owner", "no_orphans",
                      "migration_counts_reconcile", "personal_workspace_idempotent", "rls_coverage",
                      "zero_cross_tenant_access", "rls_user_metadata"):  # fmt: skip
        assert found.get(criterion) == "pass", (criterion, output)
    assert "(review, warn level)" not in output, output


def test_tenant_tables_are_discovered_from_the_catalog(accounts: Accounts) -> None:
    loaded = load_environment(
        MODEL / "accounts.yaml",
        {"ACCOUNTS_DSN": "postgresql://x@127.0.0.1/x", "ACCOUNTS_MEMBER_ROLE": accounts.member,
         "ACCOUNTS_ANON_ROLE": accounts.anon},
    )  # fmt: skip
    config = loaded.env.tenancy
    with psycopg.connect(accounts.info.dsn("accounts_v1")) as conn:
        catalog = read_catalog(conn, config.schemas, roles=[accounts.member, accounts.anon])
    model = resolve_tenancy(config, catalog)
    assert model.problems == []
    assert {str(t.name): t.key for t in model.tenant_tables} == {
        "app.accounts": "id", "app.account_user": "account_id", "app.invoices": "account_id",
        "app.invoice_lines": "account_id",
    }  # fmt: skip
    assert [str(fk) for fk, _, _ in model.tenant_foreign_keys()] == [
        "app.invoice_lines(invoice_id) -> app.invoices(id) [invoice_lines_invoice_id_fkey]"
    ]
    assert model.user_columns(qualify("app.invoices")) == ["created_by"]


def test_an_open_policy_in_another_tenancy_model_is_caught(accounts: Accounts, tmp_path: Path) -> None:
    code, output, gate = post_migration(accounts, "accounts_open_lines", tmp_path, "defect_open_lines.sql")
    assert code != 0 and gate["verdict"] != "GO", output
    found = statuses(gate)
    assert found["rls_coverage"] == "fail" and found["zero_cross_tenant_access"] == "fail", output
    assert "app.invoice_lines policy lines_debug" in output
    assert re.search(r"app\.invoice_lines: SELECT as member of tenant \d+ \(user \d+, \w+\).*saw \d+ row", output)


def test_children_moved_to_another_account_are_caught(accounts: Accounts, tmp_path: Path) -> None:
    code, output, gate = post_migration(accounts, "accounts_moved_lines", tmp_path, "defect_moved_lines.sql")
    assert code != 0 and gate["verdict"] != "GO", output
    assert statuses(gate)["no_orphans"] == "fail", output
    assert "app.invoice_lines: 3 rows in another tenant than their parent along app.invoice_lines(invoice_id)" in output
    # The rows changed too: the baseline taken before the migration names them.
    assert statuses(gate)["zero_data_loss"] == "fail", output
    assert "app.invoice_lines: same row count" in output and "changed 3: id=1, id=2, id=3" in output


def test_where_writes_are_forbidden_nothing_is_written_and_write_probes_are_skipped(
    accounts: Accounts, tmp_path: Path
) -> None:
    dsn = accounts.database("accounts_read_only", "migration.sql")
    with psycopg.connect(dsn, autocommit=True) as conn:
        before = take_snapshot(conn, ["app"])
    _, output, gate = harness(
        dsn, accounts, tmp_path / "reports", "--phase=post-migration", "-m", "integrity or isolation", *SUITES,
        writes=False,
    )  # fmt: skip
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert take_snapshot(conn, ["app"]) == before  # probes and the rolled-back workspace check left no trace
    # The environment forbids writes: the write probes are not part of the run there (listed, never run),
    # and everything that may run there passed.
    assert gate["verdict"] == "GO", output
    found = statuses(gate)
    by_id = {c["id"]: c for c in gate["criteria"]}
    assert found["zero_cross_tenant_access"] == "pass", output
    assert "not applicable here (accounts forbids writes" in by_id["zero_cross_tenant_access"]["observed"], output
    workspace = by_id["personal_workspace_idempotent"]
    assert (workspace["status"], workspace["required"]) == ("inconclusive", False), output
    assert workspace["reason"].startswith("not applicable here: accounts forbids writes"), output
    assert found["rls_coverage"] == "pass" and found["zero_data_loss"] == "pass", output
    assert "skipped" not in output.splitlines()[-1], output  # refused, not skipped: nothing of them ran


def test_probes_that_cannot_run_are_inconclusive_never_a_pass(accounts: Accounts, tmp_path: Path) -> None:
    # One account keeps its members: there is no second tenant to probe against.
    dsn = accounts.database("accounts_one_tenant", "migration.sql")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("delete from app.account_user where account_id <> (select min(account_id) from app.account_user)")
    code, output, gate = harness(
        dsn, accounts, tmp_path / "reports", "--phase=post-migration", "-rs",
        "suites/tenant_isolation/test_cross_tenant_probes.py",
    )  # fmt: skip
    assert code != 0 and gate["verdict"] != "GO", output
    assert statuses(gate)["zero_cross_tenant_access"] == "inconclusive", output
    assert "cross-tenant probes need at least 2" in output, output


def test_a_connection_subject_to_rls_is_refused_not_trusted(accounts: Accounts, tmp_path: Path) -> None:
    accounts.database("accounts_restricted", "migration.sql")
    login = f"acct_login_{secrets.token_hex(3)}"
    with psycopg.connect(accounts.info.dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("create role {} login password 'pw' in role {}").format(
            sql.Identifier(login), sql.Identifier(accounts.member)
        ))  # fmt: skip
    restricted = accounts.info.dsn("accounts_restricted", user=login, password="pw")
    code, output, gate = harness(
        restricted, accounts, tmp_path / "reports", "--phase=post-migration", "-m", "integrity or isolation", *SUITES
    )
    assert code != 0 and gate["verdict"] != "GO", output
    assert f"logs in as {login}, which is neither superuser nor BYPASSRLS" in output, output
    # A harness that cannot see every row errs (blocking), it does not pass.
    assert statuses(gate)["zero_data_loss"] == "error" and statuses(gate)["zero_cross_tenant_access"] == "error"
