"""Compare the live database against a baseline snapshot, over the baseline's own columns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

from rollout_gate.integrity.fingerprint import Snapshot, discover_tables, fingerprint_table


@dataclass
class TableDiff:
    table: str
    problems: list[str] = field(default_factory=list)
    rows_before: int = 0
    rows_after: int | None = None
    differing_buckets: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.table}: " + "; ".join(self.problems)


def compare(baseline: Snapshot, conn: psycopg.Connection[Any], schemas: list[str]) -> list[TableDiff]:
    """Every baseline table must still hold exactly the same rows in its pre-migration columns."""
    live = discover_tables(conn, schemas)
    diffs = []
    for name, before in sorted(baseline.tables.items()):
        diff = TableDiff(name, rows_before=before.rows)
        if name not in live:
            diff.problems.append(f"table dropped ({before.rows} rows before)")
            diffs.append(diff)
            continue
        _key, columns_now = live[name]
        dropped = [c for c in before.columns if c not in columns_now]
        retyped = [
            f"{c} {t} -> {columns_now[c]}"
            for c, t in before.columns.items()
            if c in columns_now and columns_now[c] != t
        ]
        if dropped:
            diff.problems.append(f"columns dropped: {', '.join(dropped)}")
        if retyped:
            diff.problems.append(f"columns retyped: {', '.join(retyped)}")
        kept = {c: t for c, t in before.columns.items() if c in columns_now}
        now = fingerprint_table(conn, name, [k for k in before.key if k in kept], kept, baseline.bucket_count)
        diff.rows_after = now.rows
        if not dropped and not retyped:
            buckets = sorted(
                b for b in set(before.buckets) | set(now.buckets) if before.buckets.get(b) != now.buckets.get(b)
            )
            diff.differing_buckets = buckets
            if now.rows != before.rows:
                diff.problems.append(f"{before.rows} rows before, {now.rows} after ({now.rows - before.rows:+d})")
            elif buckets:
                diff.problems.append(
                    f"same row count ({now.rows}) but row contents changed in {len(buckets)} bucket(s)"
                )
        if diff.problems:
            diffs.append(diff)
    return diffs
