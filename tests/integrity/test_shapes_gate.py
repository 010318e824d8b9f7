"""What an environment file declares absent is "not applicable" in the gate, and nothing else is.

The harness runs as CI would (pytest --env=FILE, post-migration) on a groups model of our own SQL:
roles in a text[] column, users who belong to no group and a group without an owner by design, no
personal workspaces. Declared so, those checks are listed as not applicable (gate.json and gate.md)
and the run is GO; a dangling key still fails; undeclared, the same rows fail their criteria.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.embedded import EmbeddedServer
from tests.integrity.shapes import Shapes, shapes_server
from tests.integrity.test_shapes import GROUPS
from tests.rehearsal import ROOT

SUITES = ("suites/data_integrity/test_tenancy_invariants.py", "suites/data_integrity/test_personal_workspace.py")

# Group one has an owner; group two only admins and viewers (no owner); d is in no group.
DATA = (
    GROUPS.replace("{{admin,owner}}", "{{admin}}").format(role_type="", roles="text[]")
    + """
insert into app.users (id, email) values ('00000000-0000-0000-0000-00000000000d', 'd@example.invalid');
"""
)

ENV = """
name: groups
kind: remote
target:
  database_url: ${{GROUPS_DSN}}
  connect_timeout: 5
tenancy:
  user_table: app.users
  tenant_table: app.groups
  tenant_key: group_id
  schemas: [app]
  membership: {{table: app.group_members, tenant_column: group_id, role_column: roles, status_column: null,
               owner_role: owner}}
{declarations}
safety:
  allow_writes: true
phases:
  enabled: [post-migration]
"""

DECLARED = """
  personal_workspace: none
  users_without_tenant: allowed
  tenants_without_owner: allowed
"""


@pytest.fixture(scope="module")
def shapes(embedded_server: EmbeddedServer) -> Iterator[Shapes]:
    with shapes_server(embedded_server) as server:
        yield server


def gate_run(dsn: str, tmp_path: Path, declarations: str) -> tuple[int, str, dict[str, Any], str]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    env_file = tmp_path / "groups.yaml"
    env_file.write_text(textwrap.dedent(ENV.format(declarations=declarations.rstrip("\n"))))
    reports = tmp_path / "reports"
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLOUT_", "PYTEST_"))}
    environ["GROUPS_DSN"] = dsn
    argv = [
        sys.executable, "-m", "pytest", f"--env={env_file}", f"--report-dir={reports}", "--phase=post-migration",
        "-p", "no:cacheprovider", "-q", "-rfE", *SUITES,
    ]  # fmt: skip
    proc = subprocess.run(argv, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300, check=False)
    gate = json.loads((reports / "gate.json").read_text()) if (reports / "gate.json").is_file() else {}
    markdown = (reports / "gate.md").read_text() if (reports / "gate.md").is_file() else ""
    return proc.returncode, proc.stdout + proc.stderr, gate, markdown


def criteria(gate: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in gate.get("criteria", [])}


NOT_APPLICABLE = {
    "every_user_has_workspace": "not applicable here: tenancy.users_without_tenant: allowed",
    "every_organization_has_owner": "not applicable here: tenancy.tenants_without_owner: allowed",
    "personal_workspace_idempotent": "not applicable here: tenancy.personal_workspace: none",
}


def test_declared_absent_checks_are_not_applicable_and_the_rest_still_judge(shapes: Shapes, tmp_path: Path) -> None:
    dsn = shapes.database(DATA)
    code, output, gate, markdown = gate_run(dsn, tmp_path / "clean", DECLARED)
    assert code == 0 and gate["verdict"] == "GO", output
    found = criteria(gate)
    for criterion, reason in NOT_APPLICABLE.items():
        c = found[criterion]
        assert (c["status"], c["required"]) == ("inconclusive", False), (criterion, output)
        assert c["reason"].startswith(reason), (criterion, c["reason"])
        assert criterion in markdown and reason.removeprefix("not applicable here: ") in markdown, markdown
    # The array role column does not crash the checks that remain: they ran and passed.
    assert found["no_orphans"]["status"] == "pass" and found["migration_counts_reconcile"]["status"] == "pass"
    assert "skipped" not in output.splitlines()[-1], output

    # Every other check is unchanged: a post in a group that does not exist still fails.
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "set session_replication_role = replica; insert into app.posts (group_id, body) values (99, 'lost')"
        )
    code, output, gate, _ = gate_run(dsn, tmp_path / "dangling", DECLARED)
    assert code != 0 and gate["verdict"] == "NO_GO", output
    found = criteria(gate)
    assert found["no_orphans"]["status"] == "fail", output
    assert "app.posts: 1 rows whose group_id names no row of app.groups" in output, output
    for criterion, reason in NOT_APPLICABLE.items():
        assert found[criterion]["reason"].startswith(reason), (criterion, output)


def test_undeclared_the_same_rows_fail_their_criteria(shapes: Shapes, tmp_path: Path) -> None:
    code, output, gate, _ = gate_run(shapes.database(DATA), tmp_path, "  personal_workspace: none")
    assert code != 0 and gate["verdict"] == "NO_GO", output
    found = criteria(gate)
    assert found["every_user_has_workspace"]["status"] == "fail", output
    assert "app.users: 1 users without an active membership (e.g. 00000000-0000-0000-0000-00000000000d)" in output
    assert found["every_organization_has_owner"]["status"] == "fail", output
    assert "app.groups: 1 tenants without an active 'owner' membership (e.g. 2)" in output
    assert found["personal_workspace_idempotent"]["reason"].startswith(NOT_APPLICABLE["personal_workspace_idempotent"])
