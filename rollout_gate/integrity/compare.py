"""Compare the live database against a baseline snapshot, over the baseline's own columns.

Columns the migration added are ignored (the row hash covers the baseline's columns only).
Dropped or retyped columns are reported, and the rows are then compared by key only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from rollout_gate import db
from rollout_gate.catalog.names import qualify
from rollout_gate.integrity.fingerprint import Snapshot, TableFingerprint, discover_tables, fingerprint_table
from rollout_gate.integrity.narrow import MAX_NARROWED_BUCKETS, RowDiff, fetch_bucket_rows, solve_bucket

DEFAULT_REPORT_KEYS = 5


@dataclass
class TableDiff:
    table: str
    problems: list[str] = field(default_factory=list)
    rows_before: int = 0
    rows_after: int | None = None
    differing_buckets: list[int] = field(default_factory=list)
    rows: list[RowDiff] = field(default_factory=list)
    unexplained_buckets: int = 0
    report_keys: int = DEFAULT_REPORT_KEYS
    has_key: bool = True

    def of_kind(self, kind: str) -> list[RowDiff]:
        return sorted((r for r in self.rows if r.kind == kind), key=lambda r: (len(r.key), r.key))

    def __str__(self) -> str:
        parts = list(self.problems)
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
            parts.append(
                f"{self.unexplained_buckets} differing bucket(s) hold several differences and were not narrowed down"
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
            diff = _compare_table(conn, before, live.get(name), baseline.server_version)
            diff.report_keys = report_keys
            if diff.problems or diff.rows or diff.unexplained_buckets:
                diffs.append(diff)
    return diffs


def _compare_table(
    conn: psycopg.Connection[Any],
    before: TableFingerprint,
    live: tuple[list[str], dict[str, str]] | None,
    server_version: int,
) -> TableDiff:
    diff = TableDiff(before.table, rows_before=before.rows, has_key=bool(before.key))
    if live is None:
        diff.problems.append(f"table dropped ({before.rows} rows before)")
        return diff
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
    )  # fmt: skip
    diff.rows_after = now.rows
    width = 4 + (codec.part_count() if codec.recoverable else 0)
    comparable = (lambda sums: sums) if with_row else (lambda sums: [sums[0], sums[1], *sums[4:]])
    buckets = sorted(
        b
        for b in set(before.buckets) | set(now.buckets)
        if comparable(before.buckets.get(b, [0] * width)) != comparable(now.buckets.get(b, [0] * width))
    )
    diff.differing_buckets = buckets
    if not buckets:
        return diff
    if now.rows != before.rows:
        diff.problems.append(_count_line(before.rows, now.rows))
    else:
        diff.problems.append(f"same row count ({now.rows}) but rows differ in {len(buckets)} bucket(s)")
    kept = [c for c in before.columns if c in columns_now]
    current = fetch_bucket_rows(
        conn, before.table, kept, codec, before.bucket_bits, buckets[:MAX_NARROWED_BUCKETS], with_row=with_row
    )
    for bucket in buckets[:MAX_NARROWED_BUCKETS]:
        base = before.buckets.get(bucket)
        if base is not None and not with_row:
            base = [base[0], base[1], 0, base[1], *base[4:]]  # row hashes are 0 in a key-only scan
        solution = solve_bucket(conn, codec, base, current[bucket], with_row=with_row)
        diff.rows += solution.rows
        diff.unexplained_buckets += 0 if solution.solved else 1
    diff.unexplained_buckets += max(0, len(buckets) - MAX_NARROWED_BUCKETS)
    return diff


def _count_line(before: int, after: int) -> str:
    return f"{before} rows before, {after} after ({after - before:+d})"
