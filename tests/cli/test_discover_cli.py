"""`rollout-gate discover --dsn URL` and `init --dsn URL` against a real server (through the CLI's entry point;
a process of its own where the point is what a shell sees).

The printed block loads as an environment file and resolves on the schema it came from without a
problem; a tie leaves the key commented out and exits 1; an unreachable host is one line naming it,
exit 4; the password of the DSN appears nowhere (stdout, stderr, written files).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from rollout_gate.catalog import resolve_tenancy
from rollout_gate.catalog.discover import catalog_for
from rollout_gate.cli import main
from rollout_gate.config import load_environment
from rollout_gate.config.models import TenancyConfig
from tests.catalog.databases import Models, model_databases
from tests.embedded import EmbeddedServer

HEAD = "name: discovered\nkind: remote\n"


@pytest.fixture(scope="module")
def models(embedded_server: EmbeddedServer) -> Iterator[Models]:
    with model_databases(embedded_server) as found:
        yield found


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def process(*args: str) -> Result:
    """`rollout-gate ARGS` in a process of its own, as a shell runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLOUT_", "PYTEST_", "PG"))}
    done = subprocess.run(
        [sys.executable, "-m", "rollout_gate.cli", *args], capture_output=True, text=True, timeout=300, check=False,
        env=env,
    )  # fmt: skip
    return Result(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def rollout_gate(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """`rollout-gate ARGS` in this process (the CLI's own entry point), its output captured."""

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def loaded_tenancy(tmp_path: Path, block: str, environ: dict[str, str] | None = None) -> TenancyConfig:
    path = tmp_path / "discovered.yaml"
    path.write_text(HEAD + block)
    return load_environment(path, environ or {}).env.tenancy


def resolved(models: Models, name: str, config: TenancyConfig) -> list[str]:
    roles = [r for r in (config.impersonation.role, config.impersonation.anon_role) if r]
    with psycopg.connect(models.dsn(name)) as conn:
        return resolve_tenancy(config, catalog_for(conn, config, roles=roles)).problems


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("reference", {"tenant_table": "public.organizations", "tenant_key": "organization_id"}),
        ("accounts", {"tenant_table": "app.accounts", "tenant_key": "account_id", "schemas": ("app",)}),
        ("teams", {"tenant_table": "public.teams", "tenant_key": "team_id"}),
    ],
)
def test_the_printed_block_loads_as_an_environment_and_resolves_without_a_problem(
    models: Models, tmp_path: Path, rollout_gate: Callable[..., Result], name: str, expected: dict[str, object]
) -> None:
    dsn = models.dsn(name)
    result = rollout_gate("discover", "--dsn", dsn)
    assert result.returncode == 0, result.stderr
    assert models.info.password not in result.stdout + result.stderr
    where = f"127.0.0.1:{models.info.port}/{name}"
    assert result.stdout.startswith(f"# Discovered by `rollout-gate discover` from the catalog of {where}.")
    config = loaded_tenancy(tmp_path, result.stdout)
    assert {key: getattr(config, key) for key in expected} == expected
    assert resolved(models, name, config) == []
    # Every guess carries its evidence: the line above each key is a comment.
    lines = result.stdout.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith(("user_table:", "tenant_table:", "table:", "role_column:", "function:")):
            assert lines[i - 1].lstrip().startswith("#"), (line, result.stdout)


def test_in_a_process_of_its_own_the_block_is_printed_and_the_password_is_not(models: Models) -> None:
    result = process("discover", "--dsn", models.dsn("reference"))
    assert result.returncode == 0, result.stderr
    assert "\n  tenant_table: public.organizations\n" in result.stdout and result.stderr == ""
    assert models.info.password not in result.stdout


def test_the_accounts_block_names_its_setting_and_roles(
    models: Models, tmp_path: Path, rollout_gate: Callable[..., Result]
) -> None:
    result = rollout_gate("discover", "--dsn", models.dsn("accounts"), "--schema", "app")
    config = loaded_tenancy(tmp_path, result.stdout)
    assert (config.impersonation.mode, config.impersonation.setting) == ("setting", "app.user_id")
    assert (config.impersonation.role, config.impersonation.anon_role) == (models.member, models.anon)
    assert config.roles.read_only == ["reader"] and config.membership.status_column is None
    assert "status_column" in config.membership.model_fields_set  # written out as null: there is none


def test_a_tie_is_left_commented_out_with_both_candidates_and_exits_1(
    models: Models, tmp_path: Path, rollout_gate: Callable[..., Result]
) -> None:
    result = rollout_gate("discover", "--dsn", models.dsn("tie"))
    assert result.returncode == 1
    assert "  # tenant_table: public.companies | public.workspaces\n" in result.stdout
    assert "ambiguous: public.companies and public.workspaces are each referenced by 2 table(s)" in result.stdout
    assert result.stderr == "rollout-gate discover: left for you to set: tenancy.tenant_table\n"
    config = loaded_tenancy(tmp_path, result.stdout)  # still a valid file: the user fills the key in
    assert config.tenant_table is None and config.user_table == "public.people"


def test_an_unreachable_host_is_one_line_naming_it_without_the_password() -> None:
    secret = "n0t-To-BE-s33n"
    result = process("discover", "--dsn", f"postgresql://app:{secret}@127.0.0.1:9/app", "--connect-timeout", "2")
    assert result.returncode == 4
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("rollout-gate discover: error: cannot connect to 127.0.0.1:9/app: ")
    assert secret not in result.stderr and "Traceback" not in result.stderr


def test_a_dsn_that_is_no_dsn_is_a_usage_error_that_does_not_echo_it(rollout_gate: Callable[..., Result]) -> None:
    result = rollout_gate("discover", "--dsn", "host=db password='se cr3t-value")
    assert result.returncode == 4
    assert "se cr3t" not in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr


def test_init_with_a_dsn_writes_the_discovered_block_into_the_environment_templates(
    models: Models, tmp_path: Path, rollout_gate: Callable[..., Result]
) -> None:
    result = rollout_gate("init", "--dir", str(tmp_path), "--dsn", models.dsn("accounts"))
    assert result.returncode == 0, result.stderr
    written = "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
    assert models.info.password not in written + result.stdout + result.stderr
    assert str(models.info.port) not in written  # nothing of the DSN is written
    for name in ("staging", "production"):
        text = (tmp_path / f"environments/{name}.yaml").read_text()
        assert text.count("\ntenancy:\n") == 1 and "public.organizations" not in text
        environ = {f"{name.upper()}_{v}": "x" for v in ("BASE_URL", "DATABASE_URL", "TEST_PASSWORD")}
        config = load_environment(tmp_path / f"environments/{name}.yaml", environ).env.tenancy
        assert (config.tenant_table, config.membership.table) == ("app.accounts", "app.account_user")
        assert resolved(models, "accounts", config) == []
        # The template's other sections are still there.
        assert "\npredeploy:\n" in text and "\nsafety:\n" in text


def test_init_with_an_unreachable_dsn_writes_nothing(tmp_path: Path, rollout_gate: Callable[..., Result]) -> None:
    result = rollout_gate("init", "--dir", str(tmp_path), "--dsn", "postgresql://u:pw-secret@127.0.0.1:9/x")
    assert result.returncode == 4
    assert list(tmp_path.iterdir()) == []
    assert "pw-secret" not in result.stderr and len(result.stderr.splitlines()) == 1
