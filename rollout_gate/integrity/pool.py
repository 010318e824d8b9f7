"""A few bounded connections, each taking the next table (largest first) until none is left.

Threads with one psycopg connection each: the work is in PostgreSQL, the threads only wait. Every
table's work runs in its own short transaction (the caller's function opens it), so no snapshot is
held across tables. The first error stops the others from starting another table and is raised as is
(a `DatabaseTimeout` stays one); tables already running finish first. Past `deadline_s` no table is
started either: the run stops with `OverBudget`, naming the tables it did not reach.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import psycopg

from rollout_gate import db
from rollout_gate.config.models import DatabaseTimeouts
from rollout_gate.integrity.plan import OverBudget

APPLICATION_NAME = "rollout-gate integrity"
T = TypeVar("T")


@dataclass
class PoolResult(Generic[T]):
    results: dict[str, T] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each table's work
    wall_s: float = 0.0


def run_tables(
    dsn: str,
    tables: list[str],
    work: Callable[[psycopg.Connection[Any], str], T],
    *,
    connections: int,
    timeouts: DatabaseTimeouts = db.DEFAULT_TIMEOUTS,
    connect_timeout: float = 10.0,
    deadline_s: float | None = None,
    budget_key: str = "integrity.budget.time_s",
) -> PoolResult[T]:
    """`work(conn, table)` for every table in the given order, on up to `connections` sessions at once;
    none is started after `deadline_s` seconds (`budget_key` names the setting in the error)."""
    queue = list(reversed(tables))  # pop() from the end takes the first (largest) table
    lock = threading.Lock()
    errors: list[BaseException] = []
    out: PoolResult[T] = PoolResult()
    started = time.perf_counter()

    def worker() -> None:
        try:
            with db.connect(
                dsn, timeouts=timeouts, connect_timeout=connect_timeout, statement_s=timeouts.scan_statement_s,
                application_name=APPLICATION_NAME,
            ) as conn:  # fmt: skip
                while True:
                    with lock:
                        if errors or not queue:
                            return
                        if deadline_s is not None and time.perf_counter() - started > deadline_s:
                            errors.append(_over_budget(time.perf_counter() - started, deadline_s, budget_key, queue))
                            return
                        table = queue.pop()
                    begun = time.perf_counter()
                    result = work(conn, table)
                    with lock:
                        out.results[table] = result
                        out.seconds[table] = time.perf_counter() - begun
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, min(connections, len(tables))))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.wall_s = time.perf_counter() - started
    if errors:
        raise errors[0]
    return out


def _over_budget(elapsed: float, deadline_s: float, key: str, queue: list[str]) -> OverBudget:
    return OverBudget(
        f"integrity scans stopped after {elapsed:.1f}s, over {key} {deadline_s:g}s (slower than planned: "
        f"set integrity.budget.rows_per_s from a measurement); not fingerprinted: {', '.join(reversed(queue))}"
    )
