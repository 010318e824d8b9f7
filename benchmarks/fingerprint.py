"""Benchmark: baseline + compare of a 5M-row table against the single-scan bound, in one run.

    .venv/bin/python benchmarks/fingerprint.py [--rows 5000000] [--repeat 3]

Builds a table shaped like the reference app's time_entries (uuid key, two uuid references, two
timestamps, a text note) in an embedded PostgreSQL of its own, then times, side by side:

- bound: `select count(*), sum(hashtextextended(t::text, 0)) from t` (one scan, one hash per row);
- baseline: `integrity.baseline.capture` of the table (fingerprint + saving the snapshot file);
- compare: `integrity.compare.compare` of the unchanged table (the post-migration check);
- narrow: compare after losing 3 rows and changing 1 (adds the bounded second scan).

Targets (issue 3): baseline and compare within 1.5x the bound, and at least 1M rows/s.

Multi-table mode (issue 15):

    .venv/bin/python benchmarks/fingerprint.py --tables 20 --rows 50000000 [--workers 2]

builds `--tables` tables of the same shape totalling `--rows` rows (sizes 1:2:...:N, so largest-first
matters) with set-based SQL, in a server whose data directory is under /work/scratch/scale-bench-<pid>
(deleted afterwards), then times once each:

- bare, one at a time: every table's `count(*), sum(hashtextextended(t::text, 0))` with no parallel
  workers, one after another; their sum / workers (or the largest, if longer) is the parallel bound;
- bare, parallel: the same scans on `--workers` connections at once (what the machine really gives);
- count(*) only, parallel: reading every row without hashing (the per-column row hash, issue 15's
  second pass, is cheaper than the bound's whole-row text hash, so this is the floor it approaches);
- one table at a time: `take_snapshot`, tables one after another with the server's default parallel
  workers (the harness before issue 15);
- baseline: `capture` (plan, pool of `--workers` connections, per-table transactions, file);
- compare: `compare_parallel` of the unchanged tables.

Targets: baseline and compare within 1.3x the parallel bound at 2 workers, and at least 1M rows/s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rollout_gate.integrity.baseline import capture  # noqa: E402
from rollout_gate.integrity.compare import compare, compare_parallel  # noqa: E402
from rollout_gate.integrity.config import IntegrityBudget  # noqa: E402
from rollout_gate.integrity.fingerprint import take_snapshot  # noqa: E402
from rollout_gate.integrity.pool import run_tables  # noqa: E402
from rollout_gate.local import cluster as cluster_module  # noqa: E402
from rollout_gate.local.cluster import EmbeddedCluster  # noqa: E402
from rollout_gate.run import RunContext  # noqa: E402

SCRATCH = Path("/work/scratch")

TABLE = """
create table bench.t as
select md5('entry:' || g)::uuid as id,
       md5('user:' || (g %% 3000))::uuid as user_id,
       md5('project:' || (g %% 40000))::uuid as project_id,
       timestamptz '2024-01-01' + g * interval '1 minute' as started_at,
       timestamptz '2024-01-01' + g * interval '1 minute' + (15 + g %% 465) * interval '1 minute' as ended_at,
       case when g %% 3 = 0 then null else 'Réunion client ☕ #' || g end as note,
       timestamptz '2024-01-01' + g * interval '1 minute' as created_at
from generate_series(1, %s) g
"""


def timed(label: str, repeat: int, work: Callable[[], object]) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        runs.append(time.perf_counter() - started)
    best, median = min(runs), statistics.median(runs)
    print(f"  {label:<9} best {best:6.2f}s  median {median:6.2f}s  runs {', '.join(f'{r:.2f}' for r in runs)}")
    return median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tables", type=int, default=0, help="multi-table mode: this many tables")
    parser.add_argument("--workers", type=int, default=2, help="multi-table mode: integrity.budget.workers")
    args = parser.parse_args()
    if args.tables:
        return multi(args.tables, args.rows, args.workers)
    run = RunContext.new()
    cluster = EmbeddedCluster(ROOT / ".rollout", run.run_id, os.getpid())
    try:
        info = cluster.ensure_running()
        with psycopg.connect(info.dsn(), autocommit=True) as conn:
            conn.execute("create database bench")
        dsn = info.dsn("bench")
        with psycopg.connect(dsn, autocommit=True) as conn:
            started = time.perf_counter()
            conn.execute("create schema bench")
            conn.execute(TABLE, (args.rows,))  # type: ignore[arg-type]
            conn.execute("alter table bench.t add primary key (id)")
            conn.execute("vacuum analyze bench.t")
            size = conn.execute("select pg_size_pretty(pg_table_size('bench.t'))").fetchone()
            workers = conn.execute("show max_parallel_workers_per_gather").fetchone()
            print(
                f"built bench.t: {args.rows:,} rows, {size[0] if size else '?'} in {time.perf_counter() - started:.1f}s"
            )
            print(
                f"server: {conn.info.server_version}, max_parallel_workers_per_gather {workers[0] if workers else '?'}"
            )
            path = Path(tempfile.mkdtemp()) / "baseline.json"

            def bound() -> None:
                conn.execute("select count(*), sum(hashtextextended(t::text, 0)) from bench.t t").fetchone()

            snapshot = capture(dsn, [], path, tables=["bench.t"])

            def check() -> None:
                assert compare(snapshot, conn, []) == []

            # Interleaved (bound, baseline, compare) per round, so machine load hits all three alike.
            results: dict[str, list[float]] = {"bound": [], "baseline": [], "compare": []}
            for _ in range(args.repeat):
                for label, work in (("bound", bound), ("baseline", lambda: capture(dsn, [], path, tables=["bench.t"])),
                                    ("compare", check)):  # fmt: skip
                    started = time.perf_counter()
                    work()
                    results[label].append(time.perf_counter() - started)
            print(f"timings over {args.repeat} interleaved rounds:")
            medians = {}
            for label, runs in results.items():
                medians[label] = statistics.median(runs)
                print(f"  {label:<9} median {medians[label]:6.2f}s  runs {', '.join(f'{r:.2f}' for r in runs)}")
            conn.execute("delete from bench.t where id in (select id from bench.t order by id limit 3)")
            conn.execute("update bench.t set note = 'x' where id = (select id from bench.t order by id desc limit 1)")
            narrow = {}

            def narrowed() -> None:
                narrow["diffs"] = compare(snapshot, conn, [])

            medians["narrow"] = timed("narrow", 1, narrowed)
            print(f"  narrowed: {narrow['diffs'][0]}")
            buckets = len(snapshot.tables["bench.t"].buckets)
            print(f"baseline file: {path.stat().st_size / 1024:.0f} KiB, {buckets} buckets")
            ok = True
            for label in ("baseline", "compare"):
                ratio = medians[label] / medians["bound"]
                rate = args.rows / medians[label] / 1e6
                verdict = "ok" if ratio <= 1.5 and rate >= 1.0 else "MISSED"
                ok &= verdict == "ok"
                print(f"{label}: {ratio:.2f}x the bound, {rate:.2f}M rows/s [{verdict}: target <= 1.5x, >= 1M rows/s]")
            return 0 if ok else 1
    finally:
        cluster.stop()


def multi(tables: int, rows: int, workers: int) -> int:
    # The server's data directory under /work/scratch (not /var/tmp): tens of GB, deleted at the end.
    scratch = SCRATCH / f"scale-bench-{os.getpid()}"
    scratch.mkdir(parents=True)
    cluster_module.SERVER_ROOT = scratch
    run = RunContext.new()
    cluster = EmbeddedCluster(scratch / "state", run.run_id, os.getpid())
    try:
        info = cluster.ensure_running()
        with psycopg.connect(info.dsn(), autocommit=True) as conn:
            conn.execute("create database bench")
        dsn = info.dsn("bench")
        names, sizes = build_tables(dsn, tables, rows, workers)
        return time_multi(dsn, names, sizes, workers)
    finally:
        cluster.stop()
        shutil.rmtree(scratch, ignore_errors=True)


def build_tables(dsn: str, tables: int, rows: int, workers: int) -> tuple[list[str], dict[str, int]]:
    weights = list(range(1, tables + 1))
    sizes = {f"bench.t{i:02d}": rows * w // sum(weights) for i, w in enumerate(weights)}
    started = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create schema bench")

    def build(conn: psycopg.Connection, name: str) -> None:
        conn.execute(TABLE.replace("bench.t", name), (sizes[name],))  # type: ignore[arg-type]
        conn.execute(f"alter table {name} add primary key (id)")  # type: ignore[arg-type]
        conn.execute(f"vacuum analyze {name}")  # type: ignore[arg-type]

    order = sorted(sizes, key=lambda n: -sizes[n])
    run_tables(dsn, order, build, connections=workers)  # type: ignore[arg-type]
    with psycopg.connect(dsn, autocommit=True) as conn:
        size = conn.execute(
            "select pg_size_pretty(sum(pg_table_size(c.oid))) from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'bench' and c.relkind = 'r'"
        ).fetchone()
    print(
        f"built {tables} tables, {sum(sizes.values()):,} rows ({min(sizes.values()):,}..{max(sizes.values()):,} "
        f"each), {size[0] if size else '?'} in {time.perf_counter() - started:.0f}s"
    )
    return order, sizes


def time_multi(dsn: str, names: list[str], sizes: dict[str, int], workers: int) -> int:
    total = sum(sizes.values())
    print(f"load average before timing: {os.getloadavg()[0]:.1f} (machine: {os.cpu_count()} cores, shared)")

    def bare(conn: psycopg.Connection, name: str) -> None:
        with conn.transaction():
            conn.execute("set local max_parallel_workers_per_gather = 0")
            conn.execute(f"select count(*), sum(hashtextextended(t::text, 0)) from {name} t").fetchone()  # type: ignore[arg-type]

    serial = run_tables(dsn, names, bare, connections=1)  # type: ignore[arg-type]
    bare_sum = sum(serial.seconds.values())
    bound = max(bare_sum / workers, max(serial.seconds.values()))
    parallel_bare = run_tables(dsn, names, bare, connections=workers)  # type: ignore[arg-type]

    def read_only(conn: psycopg.Connection, name: str) -> None:
        with conn.transaction():
            conn.execute("set local max_parallel_workers_per_gather = 0")
            conn.execute(f"select count(*) from {name}").fetchone()  # type: ignore[arg-type]

    # Reading every row and hashing nothing: how far below the bound a per-column row hash can go.
    parallel_read = run_tables(dsn, names, read_only, connections=workers)  # type: ignore[arg-type]
    path = Path(tempfile.mkdtemp(dir=SCRATCH, prefix="scale-bench-file-")) / "baseline.json"
    budget = IntegrityBudget(workers=workers, time_s=86400)
    results: dict[str, float] = {}
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            started = time.perf_counter()
            take_snapshot(conn, ["bench"])
            results["one table at a time"] = time.perf_counter() - started
        started = time.perf_counter()
        snapshot = capture(dsn, ["bench"], path, budget=budget, report=lambda line: print("  " + line.splitlines()[0]))
        results["baseline"] = time.perf_counter() - started
        started = time.perf_counter()
        assert compare_parallel(snapshot, dsn, ["bench"], budget=budget, report=None) == []
        results["compare"] = time.perf_counter() - started
        file_mib = path.stat().st_size / 2**20
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    print(f"load average after timing: {os.getloadavg()[0]:.1f}")
    print(f"bare scans, one at a time (no parallel workers): sum {bare_sum:.1f}s")
    print(f"parallel bound at {workers} workers: {bound:.1f}s (max(sum / workers, largest table))")
    measured = parallel_bare.wall_s
    print(f"bare scans on {workers} connections: {measured:.1f}s = {measured / bound:.2f}x the bound")
    print(f"count(*) only on {workers} connections: {parallel_read.wall_s:.1f}s = "
          f"{parallel_read.wall_s / bound:.2f}x the bound (reading, no hashing)")  # fmt: skip
    print(f"baseline file: {file_mib:.1f} MiB, {sum(len(fp.buckets) for fp in snapshot.tables.values()):,} buckets")
    ok = True
    for label, seconds in results.items():
        ratio, rate = seconds / bound, total / seconds / 1e6
        line = f"{label:<20} {seconds:6.1f}s = {ratio:.2f}x the bound, {rate:.2f}M rows/s"
        if label in ("baseline", "compare"):
            verdict = "ok" if ratio <= 1.3 and rate >= 1.0 else "MISSED"
            ok &= verdict == "ok"
            line += f" [{verdict}: target <= 1.3x, >= 1M rows/s]"
        print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
