"""Count and delete provisioned rows by prefix and age: fixture cleanup, leftover checks, `rollout-gate sweep`.

A killed run cannot clean up after itself; its rows keep the run prefix (`rg-test-<run>-...`), so a
later sweep finds them by prefix and deletes those older than a grace period (a live run's rows
are younger). Each statement runs in its own transaction: after a rollback some tables no longer
exist, which is reported as skipped, not as a failure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import psycopg
from psycopg import errors as pg

from rollout_gate import db
from rollout_gate.provisioning.model import RUN_PREFIX_ROOT, like_pattern

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_age(text: str) -> timedelta:
    """`90s`, `15m`, `2h`, `7d` -> timedelta (ValueError with a usable message otherwise)."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"invalid age {text!r}: use a number and a unit, e.g. 30m, 2h or 7d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def interval(age: timedelta) -> str:
    return f"{int(age.total_seconds())} seconds"


@dataclass
class SweepResult:
    deleted: int = 0
    skipped: list[str] = field(default_factory=list)
    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)


def count_rows(conn: psycopg.Connection[Any], statements: Sequence[str], pattern: str) -> dict[str, int]:
    """{what: rows} for every count statement whose table exists."""
    counts: dict[str, int] = {}
    for statement in statements:
        try:
            with conn.transaction():
                row = conn.execute(statement, {"pattern": pattern}).fetchone()  # type: ignore[arg-type]
        except (pg.UndefinedTable, pg.UndefinedColumn):
            continue
        if row is not None:
            counts[str(row[0])] = int(row[1])
    return counts


def delete_rows(
    conn: psycopg.Connection[Any], statements: Sequence[str], pattern: str, older_than: str
) -> tuple[int, list[str]]:
    """Run the cleanup statements in order; (rows deleted, statements skipped for a missing table)."""
    deleted, skipped = 0, []
    for statement in statements:
        try:
            with conn.transaction():
                cur = conn.execute(statement, {"pattern": pattern, "older_than": older_than})  # type: ignore[arg-type]
                deleted += max(cur.rowcount, 0)
        except (pg.UndefinedTable, pg.UndefinedColumn) as exc:
            skipped.append(str(exc).strip().splitlines()[0])
    return deleted, skipped


def sweep(
    dsn: str,
    cleanup: Sequence[str],
    count: Sequence[str],
    *,
    older_than: timedelta,
    prefix: str = RUN_PREFIX_ROOT,
    dry_run: bool = False,
    connect_timeout: float = 10,
) -> SweepResult:
    """Delete what runs left behind under `prefix`, older than `older_than`."""
    if not prefix.startswith(RUN_PREFIX_ROOT):
        raise ValueError(f"refusing to sweep a prefix outside {RUN_PREFIX_ROOT}*: {prefix!r}")
    pattern = like_pattern(prefix)
    result = SweepResult()
    with db.connect(dsn, connect_timeout=connect_timeout) as conn:
        result.before = count_rows(conn, count, pattern)
        if not dry_run:
            result.deleted, result.skipped = delete_rows(conn, cleanup, pattern, interval(older_than))
        result.after = count_rows(conn, count, pattern)
    return result
