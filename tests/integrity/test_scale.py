"""Integrity at scale on a real embedded PostgreSQL: bounded narrowing when many rows change, no transaction
longer than one table's scan, a refused plan reads nothing, and the baseline is read on integrity.source."""

from __future__ import annotations

import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from rollout_gate.config.models import Environment, IntegrityConfig, TenancyConfig
from rollout_gate.integrity.baseline import PRIMARY_CONSISTENCY, capture, capture_for
from rollout_gate.integrity.compare import TableDiff, compare_parallel
from rollout_gate.integrity.config import IntegrityBudget
from rollout_gate.integrity.narrow import MAX_NARROWED_BUCKETS, MAX_NARROWED_ROWS
from rollout_gate.integrity.plan import OverBudget, PlanRefused
from rollout_gate.integrity.schema_snapshot import read_baseline_section
from rollout_gate.local.cluster import ClusterInfo
from tests.embedded import EmbeddedServer

BIG = """
drop schema if exists big cascade;
create schema big;
create table big.t as select g::bigint as id, g % 97 as kind, 'row ' || g as note from generate_series(1, 200000) g;
alter table big.t add primary key (id);
analyze big.t;
"""
# Six tables of ~200k rows: each scan takes a few hundred ms, the whole baseline several times that.
SEVERAL = "drop schema if exists many cascade; create schema many;" + "".join(
    f"""
    create table many.t{i} as select g::bigint as id, g % 13 as n, repeat('x', 40) || g as pad
        from generate_series(1, {200_000 + i * 20_000}) g;
    alter table many.t{i} add primary key (id);
    analyze many.t{i};
    """
    for i in range(6)
)


@pytest.fixture(scope="module")
def server(embedded_server: EmbeddedServer) -> Iterator[ClusterInfo]:
    with embedded_server.scope() as scope:
        scope.database(name="scale_test")
        yield scope.info


@pytest.fixture(scope="module")
def dsn(server: ClusterInfo) -> str:
    return server.dsn("scale_test")


@pytest.fixture
def big(dsn: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(BIG)
        yield conn


def baseline_then_compare(dsn: str, conn: psycopg.Connection, path: Path, change: str) -> tuple[TableDiff, int]:
    """Baseline big.t, apply `change`, compare: the diff and the peak Python memory of the compare (bytes)."""
    snapshot = capture(dsn, [], path, tables=["big.t"], report=None)
    conn.execute(change)
    conn.execute("analyze big.t")
    tracemalloc.start()
    try:
        diffs = compare_parallel(snapshot, dsn, [], report=None)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [d.table for d in diffs] == ["big.t"]
    return diffs[0], peak


def assert_bounded(diff: TableDiff, peak: int) -> None:
    assert diff.sampled_buckets <= MAX_NARROWED_BUCKETS
    assert diff.rows_fetched <= MAX_NARROWED_ROWS
    assert peak < 16 * 1024 * 1024, f"compare held {peak / 2**20:.1f} MiB in Python"


def test_a_hundred_thousand_lost_rows_are_counted_and_narrowing_stays_bounded(
    dsn: str, big: psycopg.Connection, tmp_path: Path
) -> None:
    diff, peak = baseline_then_compare(dsn, big, tmp_path / "b.json", "delete from big.t where id % 2 = 0")
    text = str(diff)
    assert "200000 rows before, 100000 after (-100000)" in text
    assert diff.at_least == 100_000 and "at least 100,000 rows differ" in text
    assert f"{len(diff.differing_buckets):,} of {diff.bucket_count:,} buckets" in text
    assert "too many to name each: narrowed an evenly spread sample" in text
    assert_bounded(diff, peak)
    # Whatever is named is true: an even id that is gone.
    assert all(r.kind == "lost" and int(r.key.removeprefix("id=")) % 2 == 0 for r in diff.rows)


def test_a_hundred_thousand_changed_rows_give_a_true_lower_bound_in_bounded_memory(
    dsn: str, big: psycopg.Connection, tmp_path: Path
) -> None:
    diff, peak = baseline_then_compare(dsn, big, tmp_path / "b.json", "update big.t set kind = -1 where id % 2 = 1")
    text = str(diff)
    assert "same row count (200000) but rows differ in" in text
    # Every bucket differs: the sums prove one differing row per bucket, never more than there are.
    assert len(diff.differing_buckets) == diff.bucket_count
    assert diff.bucket_count <= diff.at_least <= 100_000
    assert diff.estimate() is None and "if spread evenly" not in text
    assert_bounded(diff, peak)
    assert all(r.kind == "changed" and int(r.key.removeprefix("id=")) % 2 == 1 for r in diff.rows)


def test_scattered_changes_beyond_the_cap_are_estimated_and_a_sample_named_by_key(
    dsn: str, big: psycopg.Connection, tmp_path: Path
) -> None:
    # 400 changed rows spread over 1024 buckets: their ~80k rows are over the cap, so a sample is narrowed.
    diff, peak = baseline_then_compare(dsn, big, tmp_path / "b.json", "update big.t set note = 'x' where id % 500 = 0")
    assert diff.rows_in_differing > MAX_NARROWED_ROWS and not diff.narrowed_all
    estimate = diff.estimate()
    assert estimate is not None and 300 <= estimate <= 520, estimate
    assert f"about {estimate:,} if spread evenly" in str(diff)
    changed = {f"id={n}" for n in range(500, 200_001, 500)}
    named = {r.key for r in diff.rows}
    assert len(named) >= 20 and named <= changed
    assert_bounded(diff, peak)


def test_no_harness_transaction_stays_open_longer_than_one_table_scan(dsn: str, tmp_path: Path) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SEVERAL)
    path = tmp_path / "baseline.json"
    ages: list[float] = []
    concurrent: list[int] = []
    done = threading.Event()

    def sample() -> None:
        with psycopg.connect(dsn, autocommit=True) as watcher:
            while not done.is_set():
                row = watcher.execute(
                    "select coalesce(extract(epoch from max(clock_timestamp() - xact_start)), 0), "
                    "count(*) filter (where state = 'active') "
                    "from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() "
                    "and backend_type = 'client backend' and xact_start is not null"
                ).fetchone()
                assert row is not None
                ages.append(float(row[0]))
                concurrent.append(int(row[1]))
                time.sleep(0.01)

    watcher = threading.Thread(target=sample)
    watcher.start()
    started = time.perf_counter()
    try:
        capture(dsn, ["many"], path, budget=IntegrityBudget(workers=2), report=None)
    finally:
        wall = time.perf_counter() - started
        done.set()
        watcher.join()
    plan = read_baseline_section(path, "plan")
    assert plan is not None
    longest = max(plan["seconds"].values())
    assert len(plan["seconds"]) == 6
    assert max(concurrent) == 2, "the tables were not scanned on two connections at once"
    assert len(ages) > 20 and max(ages) > 0
    # A transaction lives at most as long as one table's work (plus sampling slack), far less than the run.
    assert max(ages) <= longest + 0.15, (max(ages), longest, wall)
    assert max(ages) < 0.6 * wall, (max(ages), wall)


def test_a_plan_over_budget_is_refused_before_any_table_is_read(dsn: str, big: psycopg.Connection,
                                                                tmp_path: Path) -> None:  # fmt: skip
    def scans() -> int:
        # Table statistics reach the view only when a backend flushes them (at most once a second, or at exit):
        # wait until every other backend on this database has gone, flush ours, then read a fresh snapshot.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            others = big.execute("select count(*) from pg_stat_activity where datname = current_database() "
                                 "and pid <> pg_backend_pid()").fetchone()  # fmt: skip
            if others and others[0] == 0:
                break
            time.sleep(0.1)
        big.execute("select pg_stat_force_next_flush()")
        big.execute("select pg_stat_clear_snapshot()")
        row = big.execute("select seq_scan + coalesce(idx_scan, 0) from pg_stat_user_tables "
                          "where relid = 'big.t'::regclass").fetchone()  # fmt: skip
        return int(row[0]) if row else 0

    before = scans()
    printed: list[str] = []
    with pytest.raises(PlanRefused) as refused:
        capture(dsn, [], tmp_path / "b.json", tables=["big.t"], budget=IntegrityBudget(time_s=1, rows_per_s=1000),
                report=printed.append)  # fmt: skip
    message = str(refused.value)
    assert "\n" not in message and message.startswith("integrity baseline refused:")
    assert "big.t (~200,000 rows" in message and "integrity.budget.time_s 1.0s" in message
    assert printed and printed[0].startswith("integrity baseline plan: 1 table(s), ~200,000 rows")  # plan shown first
    assert not (tmp_path / "b.json").exists()
    assert scans() == before


def test_a_run_slower_than_planned_stops_at_the_budget_naming_the_tables_not_reached(dsn: str, tmp_path: Path) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "drop schema if exists slow cascade; create schema slow;"
            + "".join(f"create table slow.t{i} as select g as id from generate_series(1, 1000) g;" for i in range(4))
        )
    # An absurd measured rate: the plan fits, the run cannot.
    budget = IntegrityBudget(time_s=0.001, workers=1, rows_per_s=1e12)
    with pytest.raises(OverBudget) as stopped:
        capture(dsn, ["slow"], tmp_path / "b.json", budget=budget, report=None)
    message = str(stopped.value)
    assert "\n" not in message and message.startswith("integrity scans stopped after")
    assert "over integrity.budget.time_s 0.001s" in message and "not fingerprinted: " in message
    assert "slow.t3" in message  # a table was left unread (the last in the plan's order)
    assert not (tmp_path / "b.json").exists()


def test_the_baseline_is_read_on_integrity_source_when_set(server: ClusterInfo, dsn: str, tmp_path: Path) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as admin:
        admin.execute("drop database if exists scale_primary")
        admin.execute("drop database if exists scale_replica")
        admin.execute("create database scale_primary")
    primary = server.dsn("scale_primary")
    with psycopg.connect(primary, autocommit=True) as conn:
        conn.execute("create schema app; create table app.users (id bigint primary key, email text)")
        conn.execute("insert into app.users select g, 'u' || g || '@example.test' from generate_series(1, 500) g")
    with psycopg.connect(server.dsn(), autocommit=True) as admin:
        admin.execute("create database scale_replica template scale_primary")
    with psycopg.connect(primary, autocommit=True) as conn:
        conn.execute("delete from app.users where id > 400")  # the primary moved on: the two now differ
    replica = server.dsn("scale_replica")
    env = Environment(
        name="scale", tenancy=TenancyConfig(schemas=("app",), user_table="app.users"),
        integrity=IntegrityConfig(source=replica),  # type: ignore[arg-type]  # pydantic makes it a SecretStr
    )  # fmt: skip
    printed: list[str] = []
    snapshot = capture_for(env, primary, tmp_path / "b.json", users=[], report=printed.append)
    assert snapshot.tables["app.users"].rows == 500  # the replica's rows, not the primary's 400
    label = f"127.0.0.1:{conninfo_to_dict(replica)['port']}/scale_replica"
    assert snapshot.consistency.startswith(f"baseline read on integrity.source ({label}; not in recovery")
    assert server.password not in "".join(printed) + snapshot.consistency
    without = capture_for(env.model_copy(update={"integrity": IntegrityConfig()}), primary, tmp_path / "p.json",
                          users=[], report=None)  # fmt: skip
    assert without.tables["app.users"].rows == 400 and without.consistency == PRIMARY_CONSISTENCY
