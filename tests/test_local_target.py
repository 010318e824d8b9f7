"""The local driver: embedded PostgreSQL, seeding, migrations, rollback, stale servers."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from rollout_gate.config import load_environment
from rollout_gate.integrity.fingerprint import take_snapshot
from rollout_gate.local.cluster import EmbeddedCluster, bin_dir, process_alive
from rollout_gate.local.target import LocalTarget
from rollout_gate.phases import Phase
from rollout_gate.run import RunContext
from rollout_gate.target import TargetError
from tests.rehearsal import ROOT, SMALL_SCALE, rehearse


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunContext]:
    """One embedded server for this module's targets, stopped at the end."""
    context = RunContext.new()
    yield context
    EmbeddedCluster(ROOT / ".rollout", context.run_id, context.owner_pid).stop()


def make_target(run: RunContext, worker: str, **environ: str) -> LocalTarget:
    loaded = load_environment(ROOT / "environments" / "local.yaml", {**SMALL_SCALE, **environ})
    return LocalTarget(loaded, project_root=ROOT, run=RunContext(run.run_id, run.owner_pid, worker), environ=environ)


def schema_dump(target: LocalTarget) -> str:
    dump = subprocess.run(
        [str(bin_dir() / "pg_dump"), "--schema-only", "--no-owner", "--no-privileges", target.database_url()],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return "\n".join(line for line in dump.splitlines() if line.strip() and not line.startswith(("--", "\\")))


def tables(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute("select table_name from information_schema.tables where table_schema = 'public'").fetchall()
    return {r[0] for r in rows}


def test_phases_walk_v1_to_v2_and_rollback_restores_v1_exactly(run: RunContext) -> None:
    target = make_target(run, "walk")
    try:
        target.advance_to(Phase.PRE_DEPLOY)
        with psycopg.connect(target.database_url(), autocommit=True) as conn:
            assert tables(conn) == {"profiles", "clients", "projects", "time_entries"}
            before = take_snapshot(conn, ["public"])
        v1_schema = schema_dump(target)
        assert all(fp.rows > 0 for fp in before.tables.values())

        target.advance_to(Phase.POST_MIGRATION)
        assert target.migration is not None and target.migration.failed is None
        with psycopg.connect(target.database_url(), autocommit=True) as conn:
            assert {"organizations", "memberships", "invitations"} <= tables(conn)
            nulls = conn.execute("select count(*) from public.time_entries where organization_id is null").fetchone()
            assert nulls == (0,)

        target.advance_to(Phase.POST_ROLLBACK)
        assert target.rollback is not None and target.rollback.failed is None
        with psycopg.connect(target.database_url(), autocommit=True) as conn:
            after = take_snapshot(conn, ["public"])
        assert schema_dump(target) == v1_schema
        assert after.tables == before.tables
        with pytest.raises(TargetError, match="cannot go back"):
            target.advance_to(Phase.PRE_DEPLOY)
    finally:
        target.close()


def test_workers_get_separate_databases_from_one_template(run: RunContext) -> None:
    first, second = make_target(run, "gw0"), make_target(run, "gw1")
    try:
        first.advance_to(Phase.POST_MIGRATION)
        second.advance_to(Phase.PRE_DEPLOY)
        assert first.database_url() != second.database_url()
        with psycopg.connect(second.database_url()) as conn:
            assert "organizations" not in tables(conn)  # first's migration did not touch second's database
    finally:
        first.close()
        second.close()


def test_failing_migration_is_reported_and_sticks(run: RunContext, tmp_path: Path) -> None:
    (tmp_path / "0001_ok.sql").write_text("create table public.extra (id int primary key);")
    (tmp_path / "0002_broken.sql").write_text("alter table public.projects add column x int not nul;")
    target = make_target(run, "broken", ROLLOUT_MIGRATIONS_DIR=str(tmp_path))
    try:
        with pytest.raises(TargetError, match=r"migration \w+/0002_broken.sql failed: syntax error"):
            target.advance_to(Phase.POST_MIGRATION)
        with psycopg.connect(target.database_url()) as conn:
            assert "extra" in tables(conn)  # 0001 committed in its own transaction
            cols = conn.execute("select column_name from information_schema.columns where table_name='projects'")
            assert "x" not in {r[0] for r in cols}
        with pytest.raises(TargetError, match=r"0002_broken\.sql"):
            target.advance_to(Phase.POST_DEPLOY)  # later phases see the same failure, not a half-migrated target
    finally:
        target.close()


def test_a_killed_run_leaves_no_colliding_server(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = EmbeddedCluster(tmp_path, "stale-run", dead.pid)
    stale_pid = _server_pid(stale, stale.ensure_running().port)
    fresh = EmbeddedCluster(tmp_path, "fresh-run", os.getpid())
    try:
        fresh.ensure_running()
        assert not stale.dir.exists()
        assert not process_alive(stale_pid)
    finally:
        fresh.stop()
        stale.stop()


def _server_pid(cluster: EmbeddedCluster, port: int) -> int:
    pid = int((cluster.data / "postmaster.pid").read_text().split()[0])
    assert re.search(rf"\b{port}\b", (cluster.data / "postmaster.pid").read_text())
    return pid


def test_rehearsal_with_failing_migration_is_not_go(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_broken.sql").write_text("alter table public.nope add column organization_id uuid;")
    result = rehearse(tmp_path / "reports", migrations=migrations)
    assert result.returncode != 0, result.output
    assert result.verdict != "GO"
    assert 'migration migrations/0001_broken.sql failed: relation "public.nope" does not exist' in result.output
    assert "Traceback" not in result.output
