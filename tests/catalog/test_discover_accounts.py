"""The accounts model rehearsed with the shortened environment file (tests/catalog/accounts_short.yaml):
no user, tenant or membership table, no column and no personal-workspace key written, all discovered.
The pre-deploy baseline finds the user table before the migration; after the clean migration every
data-integrity and isolation criterion passes (GO), as with the full file (tests/isolation)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tests.catalog.databases import Models, accounts_sql, model_databases
from tests.embedded import EmbeddedServer
from tests.rehearsal import ROOT

SHORT = Path(__file__).resolve().parent / "accounts_short.yaml"
SUITES = ("suites/data_integrity", "suites/tenant_isolation/test_rls_coverage.py",
          "suites/tenant_isolation/test_cross_tenant_probes.py")  # fmt: skip


@pytest.fixture(scope="module")
def models(embedded_server: EmbeddedServer) -> Iterator[Models]:
    with model_databases(embedded_server) as found:
        yield found


def harness(models: Models, dsn: str, reports: Path, baseline: Path, *args: str) -> tuple[int, str, dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLOUT_", "PYTEST_"))}
    env.update(ACCOUNTS_DSN=dsn, ACCOUNTS_MEMBER_ROLE=models.member, ACCOUNTS_ANON_ROLE=models.anon)
    argv = [sys.executable, "-m", "pytest", f"--env={SHORT}", f"--report-dir={reports}", f"--baseline={baseline}",
            "-p", "no:cacheprovider", "-q", "-rfE", *args]  # fmt: skip
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    gate = json.loads((reports / "gate.json").read_text()) if (reports / "gate.json").is_file() else {}
    return proc.returncode, proc.stdout + proc.stderr, gate


def test_the_accounts_model_with_discovered_keys_is_go(models: Models, tmp_path: Path) -> None:
    with psycopg.connect(models.dsn("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier("accounts_short")))
    dsn = models.dsn("accounts_short")
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name in ("schema.sql", "data.sql"):
            conn.execute(accounts_sql(name, models.member, models.anon))  # type: ignore[arg-type]
    baseline = tmp_path / "baseline.json"
    code, output, gate = harness(
        models, dsn, tmp_path / "pre", baseline, "--phase=pre-deploy", "suites/predeploy/test_baseline.py"
    )
    assert code == 0 and {c["id"]: c["status"] for c in gate["criteria"]}.get("baseline_recorded") == "pass", output
    assert "app.app_users" in json.loads(baseline.read_text())["tables"], "the discovered user table is in the baseline"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(accounts_sql("migration.sql", models.member, models.anon))  # type: ignore[arg-type]
    code, output, gate = harness(
        models, dsn, tmp_path / "post", baseline, "--phase=post-migration", "-m", "integrity or isolation", *SUITES
    )
    assert code == 0 and gate["verdict"] == "GO", output
    found = {c["id"]: c["status"] for c in gate["criteria"]}
    for criterion in ("zero_data_loss", "every_user_has_workspace", "every_organization_has_owner", "no_orphans",
                      "personal_workspace_idempotent", "rls_coverage", "zero_cross_tenant_access"):  # fmt: skip
        assert found.get(criterion) == "pass", (criterion, output)
