"""rollout_gate.db: every session carries the environment's timeouts, and a server that stops answering
fails one statement within its bound instead of hanging."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from rollout_gate import db
from rollout_gate.config.models import DatabaseTimeouts
from rollout_gate.local.cluster import ClusterInfo, EmbeddedCluster
from rollout_gate.run import RunContext
from tests.rehearsal import ROOT


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedCluster, ClusterInfo]]:
    run = RunContext.new()
    cluster = EmbeddedCluster(tmp_path_factory.mktemp("db-sessions"), run.run_id, os.getpid())
    try:
        info = cluster.ensure_running()
        with psycopg.connect(info.dsn(), autocommit=True) as conn:
            conn.execute("create table locked (x int)")
        yield cluster, info
    finally:
        cluster.stop()


def test_a_session_carries_the_configured_timeouts(server: tuple[EmbeddedCluster, ClusterInfo]) -> None:
    timeouts = DatabaseTimeouts(lock_s=2, statement_s=30, idle_in_transaction_s=45)
    with db.connect(server[1].dsn(), timeouts=timeouts, readonly=True) as conn:
        shown = [conn.execute(f"show {name}").fetchone()[0] for name in  # type: ignore[index]
                 ("lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout",
                  "default_transaction_read_only")]  # fmt: skip
        client = conn.info.get_parameters()
    assert shown == ["2s", "30s", "45s", "on"]
    # Keepalives are the client's socket options (the server's own tcp_keepalives_* stay as they are).
    assert (client["keepalives"], client["keepalives_idle"], client["tcp_user_timeout"]) == ("1", "10", "25000")


def test_a_lock_held_by_another_session_fails_one_line_naming_the_setting(
    server: tuple[EmbeddedCluster, ClusterInfo],
) -> None:
    dsn = server[1].dsn()
    with psycopg.connect(dsn, autocommit=True) as holder, db.connect(dsn, timeouts=DatabaseTimeouts(lock_s=1)) as conn:
        holder.execute("begin")
        holder.execute("lock table locked in access exclusive mode")
        started = time.monotonic()
        with pytest.raises(db.DatabaseTimeout) as caught:
            conn.execute("select count(*) from locked")
        assert time.monotonic() - started < 5
        holder.execute("rollback")
    assert str(caught.value) == (
        "target database: canceling statement due to lock timeout after 1s (target.timeouts.lock_s) "
        "(another session holds a lock on a table this check reads)"
    )


def test_scans_get_the_larger_statement_timeout_and_give_it_back(server: tuple[EmbeddedCluster, ClusterInfo]) -> None:
    with db.connect(server[1].dsn(), timeouts=DatabaseTimeouts(statement_s=1)) as conn:
        with db.scan_timeout(conn, 120):
            conn.execute("select pg_sleep(1.5)")
            assert conn.statement_s == 120
        assert conn.execute("show statement_timeout").fetchone() == ("1s",)
        with pytest.raises(db.DatabaseTimeout, match=r"statement timeout after 1s \(target.timeouts.statement_s\)"):
            conn.execute("select pg_sleep(1.5)")


def test_a_frozen_server_fails_the_statement_within_its_bound(tmp_path: Path) -> None:
    import time_to_no_go as phase_runs  # benchmarks/ (the SIGSTOP helpers)

    run = RunContext.new()
    cluster = EmbeddedCluster(tmp_path, run.run_id, os.getpid())
    try:
        info = cluster.ensure_running()
        failures: list[str] = []
        timeouts = DatabaseTimeouts(statement_s=1, answer_grace_s=1)
        opened = db.connect(info.dsn(), timeouts=timeouts, on_unresponsive=failures.append)
        with opened as conn, phase_runs.frozen(cluster):
            started = time.monotonic()
            with pytest.raises(db.DatabaseUnresponsive, match="did not answer within 2s"):
                conn.execute("select 1")
            assert time.monotonic() - started < 4
        assert failures and "frozen or unreachable" in failures[0]
    finally:
        cluster.stop()


@pytest.fixture(autouse=True, scope="module")
def _benchmarks_importable() -> Iterator[None]:
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    yield
    sys.path.remove(str(ROOT / "benchmarks"))
