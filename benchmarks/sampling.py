"""Sampled vs full fingerprint of one table, side by side (BENCHMARKS.md, "Sampling").

`PYTHONPATH=. .venv/bin/python benchmarks/sampling.py [--rows N]`: a table of the given rows on an embedded
server of its own (stopped at the end), fingerprinted in full, on a 1% and a 10% key-hash sample, twice
interleaved, best of 3 each, one connection and no parallel workers.
"""

from __future__ import annotations

import argparse
import time

import psycopg

from rollout_gate.integrity.fingerprint import discover_tables, fingerprint_table, sample_threshold
from rollout_gate.local.cluster import EmbeddedCluster
from rollout_gate.run import RunContext
from tests.rehearsal import ROOT

TABLE = """
create table e as select g::bigint as id, (g % 1000)::bigint as user_id,
    now() - g * interval '1 second' as started_at, (g % 480)::int as minutes, 'entry note ' || g as note,
    (g % 7 = 0) as billable
from generate_series(1, {rows}) g;
alter table e add primary key (id);
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    args = parser.parse_args()
    run = RunContext.new()
    cluster = EmbeddedCluster(ROOT / ".rollout", run.run_id, run.owner_pid)
    try:
        info = cluster.ensure_running()
        with psycopg.connect(info.dsn(), autocommit=True) as conn:
            conn.execute("create database sampling_bench")
        with psycopg.connect(info.dsn("sampling_bench"), autocommit=True) as conn:
            conn.execute(TABLE.format(rows=int(args.rows)))  # type: ignore[arg-type]
            conn.execute("vacuum analyze e")
            key, columns = discover_tables(conn, ["public"])["public.e"]
            for label, fraction in [("full", None), ("1%", 0.01), ("10%", 0.1)] * 2:
                sample = None if fraction is None else sample_threshold(fraction)
                best = float("inf")
                for _ in range(3):
                    started = time.perf_counter()
                    fp = fingerprint_table(conn, "public.e", key, columns, sample=sample, parallel_workers=0)
                    best = min(best, time.perf_counter() - started)
                print(f"{label}: {best:.3f}s ({fp.rows:,} rows fingerprinted)", flush=True)
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
