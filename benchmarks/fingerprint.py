"""Benchmark: baseline + compare of a 5M-row table against the single-scan bound, in one run.

    .venv/bin/python benchmarks/fingerprint.py [--rows 5000000] [--repeat 3]

Builds a table shaped like the reference app's time_entries (uuid key, two uuid references, two
timestamps, a text note) in an embedded PostgreSQL of its own, then times, side by side:

- bound: `select count(*), sum(hashtextextended(t::text, 0)) from t` (one scan, one hash per row);
- baseline: `integrity.baseline.capture` of the table (fingerprint + saving the snapshot file);
- compare: `integrity.compare.compare` of the unchanged table (the post-migration check);
- narrow: compare after losing 3 rows and changing 1 (adds the bounded second scan).

Targets (issue 3): baseline and compare within 1.5x the bound, and at least 1M rows/s.
"""

from __future__ import annotations

import argparse
import os
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
from rollout_gate.integrity.compare import compare  # noqa: E402
from rollout_gate.local.cluster import EmbeddedCluster  # noqa: E402
from rollout_gate.run import RunContext  # noqa: E402

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
    args = parser.parse_args()
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


if __name__ == "__main__":
    sys.exit(main())
