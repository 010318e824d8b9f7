"""Compare the live database against a baseline snapshot, over the baseline's own columns.

Columns the migration added are ignored (the row hash covers the baseline's columns only).
Dropped or retyped columns are reported, and the rows are then compared by key only.

`compare_for` (the zero-data-loss check) plans the scans first and runs them on a pool of connections
within `integrity.budget`, each table in its own transaction (see `plan.py`, `pool.py`); `compare` runs
the same per-table comparison one table after another on one connection (rehearsal copies, small sets).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from rollout_gate import db
from rollout_gate.catalog.names import qualify
from rollout_gate.config.models import DatabaseTimeouts, Environment
from rollout_gate.integrity.config import IntegrityBudget, IntegritySampling
from rollout_gate.integrity.fingerprint import (
    SAMPLE_SCALE,
    BucketSums,
    Snapshot,
    TableFingerprint,
    discover_tables,
    fingerprint_table,
)
from rollout_gate.integrity.narrow import RowDiff, fetch_bucket_rows, narrow_sample, solve_bucket
from rollout_gate.integrity.plan import PlanRefused, plan_scan
from rollout_gate.integrity.pool import run_tables
from rollout_gate.integrity.sampling import check_baseline, confidence_line, percent

DEFAULT_REPORT_KEYS = 5


@dataclass
class TableDiff:
    table: str
    problems: list[str] = field(default_factory=list)
    rows_before: int = 0
    rows_after: int | None = None
    differing_buckets: list[int] = field(default_factory=list)
    rows: list[RowDiff] = field(default_factory=list)
    unexplained_buckets: int = 0  # narrowed, but several differences in the bucket
    bucket_count: int = 0  # 2^bits: every bucket the key hashes can fall in
    rows_in_differing: int = 0  # rows (before or after, the larger) under the differing buckets
    at_least: int = 0  # differing rows the sums prove: one per differing bucket, or its count change
    sampled_buckets: int = 0  # narrowed buckets when not all of them could be (bounded narrowing)
    rows_fetched: int = 0
    report_keys: int = DEFAULT_REPORT_KEYS
    has_key: bool = True
    sample: int | None = None  # a sampled table (`integrity.sampling`): only its key-hash sample was compared

    @property
    def narrowed_all(self) -> bool:
        return self.sampled_buckets == len(self.differing_buckets)

    def estimate(self) -> int | None:
        """Differing rows implied by how many buckets differ, if they are spread evenly (None when most
        buckets differ: then only the lower bound is known)."""
        d, b = len(self.differing_buckets), self.bucket_count
        if not d or not b or d > b // 2:
            return None
        return max(self.at_least, round(-b * math.log(1 - d / b)))

    @property
    def differs(self) -> bool:
        return bool(self.problems or self.rows or self.unexplained_buckets or self.differing_buckets)

    def of_kind(self, kind: str) -> list[RowDiff]:
        return sorted((r for r in self.rows if r.kind == kind), key=lambda r: (len(r.key), r.key))

    def __str__(self) -> str:
        parts = list(self.problems)
        if self.differing_buckets and not self.narrowed_all:
            estimate = self.estimate()
            about = f", about {estimate:,} if spread evenly" if estimate is not None else ""
            parts.append(
                f"at least {self.at_least:,} rows differ ({len(self.differing_buckets):,} of {self.bucket_count:,} "
                f"buckets, {self.rows_in_differing:,} rows under them{about}); too many to name each: narrowed an "
                f"evenly spread sample of {self.sampled_buckets} bucket(s) ({self.rows_fetched:,} rows fetched)"
            )
        for kind in ("lost", "added", "changed"):
            found = self.of_kind(kind)
            if found:
                shown = ", ".join(map(str, found[: self.report_keys]))
                more = f" (+{len(found) - self.report_keys} more)" if len(found) > self.report_keys else ""
                parts.append(f"{kind} {len(found)}: {shown}{more}")
        if not self.has_key and self.rows:
            parts.append("no primary key: rows are named by the hash of their contents")
        elif any(not r.exact for r in self.rows):
            parts.append(
                "lost rows named by key hash: only integer keys (and uuid keys on PostgreSQL 18+) "
                "can be recovered from the baseline"
            )
        if self.unexplained_buckets:
            sampled = " (in the sample)" if not self.narrowed_all else ""
            parts.append(
                f"{self.unexplained_buckets} differing bucket(s) hold several differences "
                f"and were not narrowed down{sampled}"
            )
        if self.sample is not None:
            parts.append(
                f"(a {percent(self.sample / SAMPLE_SCALE)} key-hash sample of the table was compared; counts "
                "are of the sample)"
            )
        return f"{self.table}: " + "; ".join(parts)


def compare(
    baseline: Snapshot,
    conn: psycopg.Connection[Any],
    schemas: list[str],
    *,
    report_keys: int = DEFAULT_REPORT_KEYS,
    scan_s: float = db.DEFAULT_TIMEOUTS.scan_statement_s,
) -> list[TableDiff]:
    """Every baseline table must still hold exactly the same rows in its pre-migration columns."""
    live = discover_tables(conn, schemas, baseline.tables)
    diffs = []
    # Each fingerprint reads a whole table: the scan timeout (target.timeouts.scan_statement_s) applies.
    with db.scan_timeout(conn, scan_s):
        for name, before in sorted(baseline.tables.items()):
            diff = compare_table(conn, before, live.get(name), baseline.server_version)
            diff.report_keys = report_keys
            if diff.differs:
                diffs.append(diff)
    return diffs


BLOCKING, SAMPLED = "blocking", "sampled"


def tables_for(env: Environment, baseline: Snapshot, part: str) -> list[str]:
    """The baseline tables one zero-data-loss check compares: `BLOCKING` (zero_data_loss) every table not
    sampled, and the sampled ones when `integrity.sampling.blocking`; `SAMPLED` (zero_data_loss_sampled)
    the sampled ones otherwise."""
    sampling = env.integrity.sampling
    sampled = {name for name in baseline.tables if sampling.fraction(name) is not None}
    if part == SAMPLED:
        chosen = set() if sampling.blocking else sampled
    else:
        chosen = set(baseline.tables) - (set() if sampling.blocking else sampled)
    return sorted(chosen)


def compare_for(
    env: Environment,
    dsn: str,
    baseline: Snapshot,
    *,
    part: str = BLOCKING,
    report: Callable[[str], None] | None = print,
) -> list[TableDiff]:
    """The environment's zero-data-loss comparison of the live database at `dsn` against `baseline`, for the
    tables of `part` (`tables_for`). A baseline whose samples are not the ones `integrity.sampling` asks for
    (any table, whichever part) raises `SampleMismatch` before anything is read."""
    check_baseline(baseline, env.integrity.sampling)
    only = tables_for(env, baseline, part)
    if report is not None:
        for name in only:
            sample = baseline.tables[name].sample
            if sample is not None:
                report(confidence_line(name, sample, baseline.tables[name].rows))
    target = env.target
    return compare_parallel(
        baseline, dsn, list(env.tenancy.schemas), budget=env.integrity.budget, timeouts=target.timeouts,
        connect_timeout=target.connect_timeout, report_keys=env.tenancy.integrity.report_keys, report=report,
        only=only, sampling=env.integrity.sampling,
    )  # fmt: skip


def compare_parallel(
    baseline: Snapshot,
    dsn: str,
    schemas: list[str],
    *,
    budget: IntegrityBudget | None = None,
    timeouts: DatabaseTimeouts = db.DEFAULT_TIMEOUTS,
    connect_timeout: float = 10.0,
    report_keys: int = DEFAULT_REPORT_KEYS,
    report: Callable[[str], None] | None = print,
    only: Iterable[str] | None = None,
    sampling: IntegritySampling | None = None,
) -> list[TableDiff]:
    """`compare`, planned within `budget` (a plan over it raises `PlanRefused`) and run on a connection pool;
    `only` the named baseline tables when given. Sampled tables compare the baseline's own sample (each
    table's `sample`); `sampling` only gives the plan their fractions."""
    budget = budget or IntegrityBudget()
    chosen = sorted(baseline.tables if only is None else set(only) & set(baseline.tables))
    fractions = {n: fp.sample / SAMPLE_SCALE for n, fp in baseline.tables.items() if fp.sample is not None}
    with db.connect(dsn, timeouts=timeouts, connect_timeout=connect_timeout) as conn:
        live = discover_tables(conn, schemas, chosen)
        present = [name for name in chosen if name in live]
        plan = plan_scan(conn, "compare", present, budget, scan_s=timeouts.scan_statement_s, sampling=fractions)
    if report is not None:
        report(plan.describe())
    refusal = plan.refusal()
    if refusal:
        raise PlanRefused(refusal)

    def one(c: psycopg.Connection[Any], name: str) -> TableDiff:
        return compare_table(
            c, baseline.tables[name], live[name], baseline.server_version, parallel_workers=plan.parallel_per_statement
        )

    planned = [t.name for t in plan.tables]
    order = planned + sorted(set(present) - set(planned))
    done = run_tables(
        dsn, order, one, connections=plan.connections, timeouts=timeouts, connect_timeout=connect_timeout,
        deadline_s=budget.time_s,
    )  # fmt: skip
    if report is not None:
        report(f"{plan.what} took {done.wall_s:.1f}s (planned ~{plan.estimated_s:.1f}s)")
    diffs = []
    for name in chosen:
        before = baseline.tables[name]
        diff = done.results.get(name) or _dropped(before)
        diff.report_keys = report_keys
        if diff.differs:
            diffs.append(diff)
    return diffs


def _dropped(before: TableFingerprint) -> TableDiff:
    diff = TableDiff(before.table, rows_before=before.rows, has_key=bool(before.key), sample=before.sample)
    diff.problems.append(f"table dropped ({before.rows} rows before)")
    return diff


def compare_table(
    conn: psycopg.Connection[Any],
    before: TableFingerprint,
    live: tuple[list[str], dict[str, str]] | None,
    server_version: int,
    *,
    parallel_workers: int | None = None,
) -> TableDiff:
    """One baseline table against its live state: one scan, plus a bounded second one when it differs."""
    if live is None:
        return _dropped(before)
    diff = TableDiff(before.table, rows_before=before.rows, has_key=bool(before.key), sample=before.sample)
    _key, columns_now = live
    dropped = [c for c in before.columns if c not in columns_now]
    retyped = [c for c, t in before.columns.items() if c in columns_now and columns_now[c] != t]
    if dropped:
        diff.problems.append(f"columns dropped: {', '.join(dropped)}")
    if retyped:
        changes = ", ".join(f"{c} {before.columns[c]} -> {columns_now[c]}" for c in retyped)
        diff.problems.append(f"columns retyped: {changes}")
    codec = before.codec
    key_changed = any(c in dropped or c in retyped for c in codec.columns)
    with_row = not dropped and not retyped
    if codec.sample is not None and (key_changed or (not codec.columns and not with_row)):
        diff.problems.append("the sample cannot be drawn again without its key (or, with no key, its columns)")
        return diff
    if key_changed or (not codec.columns and not with_row):
        # Nothing stable to bucket by: only the row count can be compared.
        now_rows = conn.execute(sql.SQL("select count(*) from {}").format(qualify(before.table).ident)).fetchone()
        diff.rows_after = int(now_rows[0]) if now_rows else 0
        if diff.rows_after != before.rows:
            diff.problems.append(_count_line(before.rows, diff.rows_after))
        return diff
    now = fingerprint_table(
        conn, before.table, list(codec.columns), {c: columns_now[c] for c in before.columns if c in columns_now},
        bucket_bits=before.bucket_bits, codec=codec, with_row=with_row, server_version=server_version,
        parallel_workers=parallel_workers,
    )  # fmt: skip
    diff.rows_after = now.rows
    diff.bucket_count = 1 << before.bucket_bits
    differing = _differing(before.buckets, now.buckets, with_row)
    if not differing:
        return diff
    diff.differing_buckets = sorted(differing)
    rows_in = {b: max(n0, n1) for b, (n0, n1) in differing.items()}
    diff.rows_in_differing = sum(rows_in.values())
    diff.at_least = max(abs(now.rows - before.rows), sum(max(1, abs(n1 - n0)) for n0, n1 in differing.values()))
    if now.rows != before.rows:
        diff.problems.append(_count_line(before.rows, now.rows))
    else:
        diff.problems.append(f"same row count ({now.rows}) but rows differ in {len(differing)} bucket(s)")
    sample = narrow_sample(diff.differing_buckets, rows_in)
    diff.sampled_buckets = len(sample)
    kept = {c: t for c, t in before.columns.items() if c in columns_now}
    current = fetch_bucket_rows(conn, before.table, kept, codec, before.bucket_bits, sample, with_row=with_row)
    diff.rows_fetched = sum(len(rows) for rows in current.values())
    for bucket in sample:
        base = before.buckets.get(bucket)
        if base is not None and not with_row:
            base = [base[0], base[1], 0, 0, *base[4:]]  # a key-only scan has no row hashes (not compared)
        solution = solve_bucket(conn, codec, base, current[bucket], with_row=with_row)
        diff.rows += solution.rows
        diff.unexplained_buckets += 0 if solution.solved else 1
    return diff


def _differing(before: BucketSums, now: BucketSums, with_row: bool) -> dict[int, tuple[int, int]]:
    """Buckets whose sums differ, each with its (baseline, current) row count; a merge of the two sorted
    arrays, after a whole-array equality check (the common, clean case costs one memcmp)."""
    if before.width == now.width and before.ids == now.ids and before.sums == now.sums:
        return {}
    width = before.width
    kept = range(width) if with_row else [0, 1, *range(4, width)]  # a key-only scan has no row hashes
    out: dict[int, tuple[int, int]] = {}
    i = j = 0
    while i < len(before.ids) or j < len(now.ids):
        b0 = before.ids[i] if i < len(before.ids) else None
        b1 = now.ids[j] if j < len(now.ids) else None
        if b1 is None or (b0 is not None and b0 < b1):
            out[b0] = (before.sums[i * width], 0)  # type: ignore[index]
            i += 1
        elif b0 is None or b1 < b0:
            out[b1] = (0, now.sums[j * width])
            j += 1
        else:
            if any(before.sums[i * width + c] != now.sums[j * width + c] for c in kept):
                out[b0] = (before.sums[i * width], now.sums[j * width])
            i += 1
            j += 1
    return out


def _count_line(before: int, after: int) -> str:
    return f"{before} rows before, {after} after ({after - before:+d})"
