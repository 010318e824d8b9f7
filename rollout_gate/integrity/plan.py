"""The plan of a baseline or compare, made before any table is scanned, and its budget.

From the catalog (`pg_class.reltuples`, `pg_stat_user_tables` live and dead tuples, `pg_table_size`)
every table's rows and size are estimated; tables are scheduled largest first on a pool of connections
(longest-processing-time first), and the plan's wall time is the busiest connection's share at
`integrity.budget.rows_per_s` per scanning process. The pool never exceeds what the server allows:
connections within `max_connections` minus those in use minus `integrity.budget.connection_margin`,
parallel workers per statement within `max_parallel_workers`. A plan over `integrity.budget.time_s`
(or with a table whose scan would outlast `target.timeouts.scan_statement_s`) is refused in one line
naming the tables that do not fit, before anything is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

from rollout_gate.catalog.names import qualify
from rollout_gate.integrity.config import IntegrityBudget
from rollout_gate.integrity.fingerprint import BaselineError
from rollout_gate.target import TargetError

# Each parallel worker added to a statement speeds its scan up by less than one more process.
PARALLEL_EFFICIENCY = 0.8
# A key-hash sample (`integrity.sampling`) still reads every row and hashes every key (no index serves a
# hash sample); only the rows in the sample get the row hash and the sums. Share of a full fingerprint's
# time that reading and key-hashing alone take: measured ~0.05-0.07 on a 6-column, 2 M-row table (BENCHMARKS.md,
# "Sampling", side by side); 0.1 to stay on the safe side for narrower tables, where reading weighs more.
SAMPLED_READ_SHARE = 0.1
SHOWN_TABLES = 8


class PlanRefused(BaselineError, TargetError):
    """The scans would not fit `integrity.budget` (or a table would outlast its statement timeout): one line.
    A baseline error to the pre-deploy check, a target error where the local rehearsal takes the baseline."""


class OverBudget(PlanRefused):
    """The scans ran past `integrity.budget.time_s` (slower than planned); the rest were not started. One line."""


@dataclass(frozen=True)
class TableEstimate:
    name: str
    rows: int  # live rows (reltuples, or the statistics collector's count before the first analyze)
    dead: int  # dead tuples the scan reads too (a backfill leaves one per rewritten row)
    bytes: int
    fraction: float | None = None  # sampled (`integrity.sampling`): the share of rows fingerprinted

    @property
    def scanned(self) -> int:
        return self.rows + self.dead

    @property
    def cost_share(self) -> float:
        """A full fingerprint's time this table's scan takes: 1, or less for a sample (it still reads every row)."""
        if self.fraction is None:
            return 1.0
        return SAMPLED_READ_SHARE + (1 - SAMPLED_READ_SHARE) * self.fraction


@dataclass(frozen=True)
class ServerLimits:
    max_connections: int
    reserved: int
    in_use: int
    max_parallel_workers: int

    def free_connections(self, margin: int) -> int:
        return self.max_connections - self.reserved - self.in_use - margin


@dataclass
class ScanPlan:
    what: str  # "baseline" | "compare"
    tables: list[TableEstimate]  # largest first: the order the pool takes them in
    connections: int
    parallel_per_statement: int  # max_parallel_workers_per_gather set for each scan
    budget: IntegrityBudget
    scan_s: float
    limits: ServerLimits
    lanes: list[float] = field(default_factory=list)  # estimated busy seconds per connection

    @property
    def rows(self) -> int:
        return sum(t.scanned for t in self.tables)

    @property
    def rate(self) -> float:
        """Rows per second one statement scans, with its parallel workers."""
        return self.budget.rows_per_s * (1 + PARALLEL_EFFICIENCY * self.parallel_per_statement)

    def seconds(self, table: TableEstimate) -> float:
        return table.scanned * table.cost_share / self.rate

    @property
    def estimated_s(self) -> float:
        return max(self.lanes, default=0.0)

    def describe(self) -> str:
        """The plan as printed before the scans start (one summary line, then the largest tables)."""
        size = sum(t.bytes for t in self.tables)
        procs = self.connections * (1 + self.parallel_per_statement)
        head = (
            f"integrity {self.what} plan: {len(self.tables)} table(s), ~{self.rows:,} rows ({_bytes(size)}); "
            f"{self.connections} connection(s) x {1 + self.parallel_per_statement} process(es) = {procs} "
            f"worker(s) (integrity.budget.workers {self.budget.workers}; server: "
            f"{self.limits.free_connections(0)} connection(s) free, max_parallel_workers "
            f"{self.limits.max_parallel_workers}); ~{_duration(self.estimated_s)} at "
            f"{self.budget.rows_per_s:,.0f} rows/s per process (budget {_duration(self.budget.time_s)})"
        )
        shown = [
            f"  {t.name}: ~{t.scanned:,} rows, {_bytes(t.bytes)}, ~{_duration(self.seconds(t))}{_sampled(t)}"
            for t in self.tables[:SHOWN_TABLES]
        ]
        if len(self.tables) > SHOWN_TABLES:
            shown.append(f"  (+{len(self.tables) - SHOWN_TABLES} smaller table(s))")
        hidden = [t for t in self.tables[SHOWN_TABLES:] if t.fraction is not None]
        if hidden:
            shown.append("  sampled among them:" + ",".join(f" {t.name}{_sampled(t)}" for t in hidden))
        return "\n".join([head, *shown])

    def refusal(self) -> str | None:
        """Why this plan must not run (one line naming the tables), or None."""
        too_long = [t for t in self.tables if self.seconds(t) > self.scan_s]
        if too_long:
            return (
                f"integrity {self.what} refused: {_named(self, too_long)} would outlast "
                f"target.timeouts.scan_statement_s {_duration(self.scan_s)}; take the baseline on a replica "
                "(integrity.source) or raise the timeout"
            )
        if self.estimated_s <= self.budget.time_s:
            return None
        # The largest tables that must go for the rest to fit: the ones the budget cannot hold.
        over: list[TableEstimate] = []
        rest = list(self.tables)
        while rest and _makespan([self.seconds(t) for t in rest], self.connections) > self.budget.time_s:
            over.append(rest.pop(0))
        return (
            f"integrity {self.what} refused: ~{_duration(self.estimated_s)} with {self.connections} connection(s) "
            f"at {self.rate:,.0f} rows/s each is over integrity.budget.time_s {_duration(self.budget.time_s)}; "
            f"does not fit: {_named(self, over)}; take the baseline on a replica (integrity.source) with a larger "
            "budget, or raise integrity.budget"
        )


def _sampled(table: TableEstimate) -> str:
    if table.fraction is None:
        return ""
    return (
        f" (sampled: {table.fraction * 100:.4g}% by key hash; still reads every row, no index serves a hash "
        f"sample; ~{table.cost_share:.2f}x a full fingerprint)"
    )


def estimate_tables(
    conn: psycopg.Connection[Any], tables: Iterable[str], sampling: Mapping[str, float] | None = None
) -> list[TableEstimate]:
    """Rows, dead tuples and size of each table from the catalog, largest first (no table is read);
    `sampling` gives the fraction of each sampled table."""
    names = [qualify(t) for t in tables]
    rows = conn.execute(
        """
        select format('%%s.%%s', n.nspname, c.relname),
               greatest(c.reltuples::bigint, coalesce(s.n_live_tup, 0), 0),
               coalesce(s.n_dead_tup, 0), pg_table_size(c.oid)
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        left join pg_stat_user_tables s on s.relid = c.oid
        where (n.nspname, c.relname) in (select * from unnest(%s::text[], %s::text[]))
        """,
        ([t.schema for t in names], [t.name for t in names]),
    ).fetchall()
    share = sampling or {}
    found = [
        TableEstimate(str(name), int(live), int(dead), int(size), share.get(str(name)))
        for name, live, dead, size in rows
    ]
    return sorted(found, key=lambda t: (-t.scanned, -t.bytes, t.name))


def server_limits(conn: psycopg.Connection[Any]) -> ServerLimits:
    settings = dict(
        conn.execute(
            "select name, setting from pg_settings where name in ('max_connections', 'max_parallel_workers', "
            "'superuser_reserved_connections', 'reserved_connections')"
        ).fetchall()
    )
    in_use = conn.execute("select count(*) from pg_stat_activity where backend_type = 'client backend'").fetchone()
    return ServerLimits(
        max_connections=int(settings.get("max_connections", 0)),
        reserved=int(settings.get("superuser_reserved_connections", 0)) + int(settings.get("reserved_connections", 0)),
        in_use=int(in_use[0]) if in_use else 0,
        max_parallel_workers=int(settings.get("max_parallel_workers", 0)),
    )


def make_plan(
    what: str, tables: list[TableEstimate], budget: IntegrityBudget, limits: ServerLimits, *, scan_s: float
) -> ScanPlan:
    """Connections and per-statement workers within the budget and the server's limits, and the schedule."""
    free = limits.free_connections(budget.connection_margin)
    connections = max(1, min(budget.workers, len(tables) or 1, free))
    spare = max(0, budget.workers - connections) // connections
    per_statement = max(0, min(spare, limits.max_parallel_workers // connections))
    plan = ScanPlan(what, tables, connections, per_statement, budget, scan_s, limits)
    plan.lanes = _lanes([plan.seconds(t) for t in tables], connections)
    return plan


def plan_scan(
    conn: psycopg.Connection[Any],
    what: str,
    tables: Iterable[str],
    budget: IntegrityBudget,
    *,
    scan_s: float,
    sampling: Mapping[str, float] | None = None,
) -> ScanPlan:
    return make_plan(what, estimate_tables(conn, tables, sampling), budget, server_limits(conn), scan_s=scan_s)


def _lanes(seconds: list[float], connections: int) -> list[float]:
    """Each connection takes the next table (largest first) when it is free: its busy time."""
    lanes = [0.0] * connections
    for s in sorted(seconds, reverse=True):
        i = lanes.index(min(lanes))
        lanes[i] += s
    return lanes


def _makespan(seconds: list[float], connections: int) -> float:
    return max(_lanes(seconds, connections), default=0.0)


def _named(plan: ScanPlan, tables: list[TableEstimate]) -> str:
    return ", ".join(f"{t.name} (~{t.scanned:,} rows, ~{_duration(plan.seconds(t))})" for t in tables)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
