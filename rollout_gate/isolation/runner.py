"""The probe runner: act as real members (and as anon) and try to reach other tenants' rows.

One transaction per sampled member, always rolled back. As admin, for every tenant table (parents
before children), `aims.prepare` picks rows of the member's own tenant and of another tenant B
(preferably another sampled one) and plans INSERT rows; where writes are allowed and a table holds
no row of either tenant (invitations right after the migration), it creates one first, inside that
transaction. Then the member is impersonated and every member family runs, each statement in a
savepoint of its own (also rolled back). Run families (anon) then run once, in their own transaction.

Families (rollout_gate/isolation/families/): read, blind, write, move, spoof (per member), anon
(per run). Each is a module with `probe(ctx: Context) -> None` that appends ProbeResults through
`ctx.add`, judging with the pure functions of `judge.py`.

Registering another family: pass it in `member_families` (runs inside each member's impersonated
transaction, with `ctx.member` and `ctx.aims` set) or `run_families` (runs once, `ctx.member` None,
manages its own transactions with `ctx.transaction()`), or add it to the tuples below. A family
written as a plain function returning results plugs in with a two-line adapter, e.g.

    def role_matrix_family(ctx: Context) -> None:      # B's rollout_gate/isolation/roles.py
        ctx.run.results += role_matrix(ctx.conn, ctx.model, writes=ctx.writes)

    RUN_FAMILIES = (anon.probe, role_matrix_family, unset_identity_family)

(`unset_identity_family` likewise wraps A2's `probe_unset_identity(ctx.conn, ctx.model)`). A family
that runs statements of its own adds them to `ctx.run.statements`, so probes/s stays honest.

A probe whose control fails, or that has nothing to aim at, is `inconclusive`, never `ok`; an
operation the role holds no privilege for is settled by the grants (`ok`, "not granted"). Where
writes are forbidden, transactions are read only: nothing is created, and the write families do
not run (select, blind and anon reads still do); a table without rows then stays a coverage gap.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from rollout_gate.catalog.names import QualifiedName, qualify
from rollout_gate.catalog.tenancy import TenancyModel, TenantTable
from rollout_gate.isolation.aims import Aim, find_outsider, prepare
from rollout_gate.isolation.families import anon, blind, move, read, spoof, write
from rollout_gate.isolation.impersonation import Impersonator
from rollout_gate.isolation.judge import Judgement
from rollout_gate.isolation.results import (
    ANON_OPS,
    BLIND_OPS,
    LEAK,
    READ_OPS,
    Attempt,
    ProbeResult,
    ProbeRun,
)
from rollout_gate.isolation.round_trip import RolledBack
from rollout_gate.isolation.rowgen import RowPlan
from rollout_gate.isolation.sampling import Member

Family = Callable[["Context"], None]
MEMBER_FAMILIES: tuple[Family, ...] = (read.probe, blind.probe, write.probe, move.probe, spoof.probe)
RUN_FAMILIES: tuple[Family, ...] = (anon.probe,)
_COMMAND = {"select": "SELECT", "update": "UPDATE", "delete": "DELETE", "insert": "INSERT", "move": "UPDATE"}


@dataclass
class Context:
    """What a family works with: the admin connection, the model, the run, and the member being probed."""

    conn: psycopg.Connection[Any]
    model: TenancyModel
    writes: bool
    run: ProbeRun
    impersonator: Impersonator
    allow: set[tuple[QualifiedName, str, str | None]] = field(default_factory=set)
    member: Member | None = None
    others: list[Member] = field(default_factory=list)
    aims: list[Aim] = field(default_factory=list)
    outsiders: dict[tuple[str, ...], str | None] = field(default_factory=dict)
    # Per table, the first rows of distinct shapes (aims.shape_templates): read once per run, not per member.
    shapes: dict[Any, list[dict[str, Any]]] = field(default_factory=dict)
    _rolled_back: RolledBack | None = None

    @property
    def actor(self) -> str:
        return f"member of {self.member}" if self.member else "anon"

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A rolled-back transaction, read only where writes are forbidden."""
        with self.conn.transaction(force_rollback=True):
            if not self.writes:
                self.conn.execute("set transaction read only")
            # Lock and statement timeouts come with the session (rollout_gate.db, target.timeouts).
            # "No row of another tenant" is only answered by looking at every visible row; with a
            # LIMIT the planner bets on a sequential scan of the whole table, while the tenant key
            # index reaches exactly the rows the policy lets through (often 20x faster).
            self.conn.execute("set local enable_seqscan = off")
            yield

    # -- statements (each in a savepoint of its own, rolled back) ---------------------------

    def fetch(self, query: sql.Composed | sql.SQL, params: Any = ()) -> tuple[Any, ...] | Attempt:
        self.run.statements += 1
        try:
            row = self._isolated(query, params).fetchone()
            return tuple(row) if row else ()
        except psycopg.Error as exc:
            return _rejected(exc)

    def attempt(self, query: sql.Composed | sql.SQL, params: Any = ()) -> Attempt:
        self.run.statements += 1
        try:
            return Attempt(self._isolated(query, params).rowcount)
        except psycopg.Error as exc:
            return _rejected(exc)

    def _isolated(self, query: sql.Composed | sql.SQL, params: Any) -> psycopg.ClientCursor[Any]:
        """`query` in a savepoint rolled back in the same round trip (round_trip.py); the cursor is left on
        the statement's result."""
        if self._rolled_back is None:
            self._rolled_back = RolledBack(self.conn)
        return self._rolled_back.execute(query, params)

    def insert(self, plan: RowPlan, read_back: str | None = None) -> Attempt:
        """INSERT the planned row; with `read_back`, what the target stored in that column (found by its key)."""
        self.run.statements += 1
        values = (json.dumps(plan.values, default=str),)
        located = plan.locate()
        try:
            if read_back is None or located is None:
                return Attempt(self._isolated(plan.insert(), values).rowcount)
            where, params = located
            cur = self._isolated(
                sql.SQL("{}; {}").format(plan.insert(), self._read_back_sql(plan.table, read_back, where)),
                (*values, *params),
            )
            rows = cur.rowcount
            return Attempt(rows, stored=self._stored(cur)) if rows else Attempt(rows)
        except psycopg.Error as exc:
            return _rejected(exc)

    def set_current(self, aim: Aim, column: str, type_: str, value: str | None, read_back: bool) -> Attempt:
        """`UPDATE ... SET column = value WHERE CURRENT OF` a cursor on one of the member's own rows.

        A WHERE clause that reads the table (even `ctid = ...`) makes PostgreSQL check the new row
        against the SELECT policies too, which hides a WITH CHECK that lets rows out; an unfiltered
        UPDATE (what `PATCH /table` without a filter sends) does not. The cursor gives that blind
        form for exactly one row. Declare, fetch, update (and read-back) go in one round trip; an update
        with nothing fetched fails with 24000 (cursor not positioned on a row).
        """
        self.run.statements += 1
        t = aim.table.name.ident
        parts: list[sql.Composable] = [
            sql.SQL("declare rg_probe cursor for select 1 from {} where ctid = %s::tid for update").format(t),
            sql.SQL("fetch rg_probe"),
            sql.SQL("update {} set {} = %s::{} where current of rg_probe").format(
                t, sql.Identifier(column), sql.SQL(type_)
            ),
        ]
        params: list[Any] = [aim.own[0], value]
        reading = read_back and aim.own_locate is not None
        if reading and aim.own_locate is not None:
            parts.append(self._read_back_sql(aim.table.name, column, aim.own_locate[0]))
            params += aim.own_locate[1]
        try:
            cur = self._isolated(sql.SQL("; ").join(parts), params)
        except psycopg.Error as exc:
            if exc.sqlstate == "24000":
                return Attempt(None, "42501", "the member cannot lock its own row for update")
            return _rejected(exc)
        cur.nextset()  # fetch
        cur.nextset()  # update
        rows = cur.rowcount
        if not rows or not reading:
            return Attempt(rows)
        return Attempt(rows, stored=self._stored(cur))

    @staticmethod
    def _read_back_sql(table: QualifiedName, column: str, where: sql.Composed) -> sql.Composed:
        """As admin, still inside the statement's savepoint (whose rollback restores the member's role)."""
        query = sql.SQL("reset role; select {}::text from {} where {}")
        return query.format(sql.Identifier(column), table.ident, where)

    @staticmethod
    def _stored(cur: psycopg.ClientCursor[Any]) -> tuple[str | None]:
        """From the statement's result, past `reset role` to the read-back's row."""
        cur.nextset()
        cur.nextset()
        row = cur.fetchone()
        return (row[0] if row else None,)

    # -- results --------------------------------------------------------------------------

    def add(
        self, op: str, table: TenantTable, other: str | None, judgement: Judgement,
        keys: tuple[str, ...] = (), column: str | None = None,
    ) -> None:  # fmt: skip
        command = _COMMAND.get(op.removeprefix("anon_").removeprefix("spoof_").removeprefix("blind_"), "ALL")
        role = (self.model.anon_role if op.startswith("anon_") else self.model.member_role) or ""
        policies = self.model.catalog.describe_policies(table.name, command, role) if judgement.status == LEAK else ""
        self.run.results.append(
            ProbeResult(
                op, str(table.name), self.actor, other, judgement.status, judgement.detail, policies, keys, column
            )
        )

    # -- the catalog, as the member's role sees it -----------------------------------------

    def granted(self, table: TenantTable, privilege: str) -> bool:
        return privilege in self.model.table(table.name).privileges.get(self.model.member_role, frozenset())

    def updatable(self, table: TenantTable) -> str | None:
        """A column the member's role may UPDATE (the tenant key when it may), None when none."""
        meta = self.model.table(table.name)
        allowed = meta.updatable_columns.get(self.model.member_role, frozenset())
        if table.key in allowed:
            return table.key
        return next((c for c, col in meta.columns.items() if c in allowed and not col.generated), None)

    def allowed(self, table: QualifiedName, column: str, op: str) -> bool:
        """Listed in `tenancy.probes.ownership_allow` (may point at another user)."""
        return (table, column, None) in self.allow or (table, column, op) in self.allow

    def outsider(self, tenants: list[str]) -> str | None:
        """A user who belongs to none of `tenants` (the "another user" of spoofing probes)."""
        key = tuple(sorted(tenants))
        if key not in self.outsiders:
            self.outsiders[key] = find_outsider(self.conn, self.model, tenants)
        return self.outsiders[key]


def run_probes(
    conn: psycopg.Connection[Any],
    model: TenancyModel,
    members: list[Member],
    *,
    writes: bool,
    member_families: tuple[Family, ...] = MEMBER_FAMILIES,
    run_families: tuple[Family, ...] = RUN_FAMILIES,
) -> ProbeRun:
    started = time.perf_counter()
    run = ProbeRun(writes=writes, members=list(members), expected=_expected(model, writes))
    impersonator = Impersonator(model.config.impersonation)
    ctx = Context(conn, model, writes, run, impersonator, _allow_list(model.config.probes.ownership_allow))
    for member in members:
        ctx.member, ctx.others = member, [m for m in members if m is not member]
        with ctx.transaction():
            ctx.aims = prepare(ctx, member, ctx.others)
            impersonator.member(conn, member.user_id, member.tenant_id, member.email)
            for family in member_families:
                family(ctx)
    ctx.member, ctx.others, ctx.aims = None, [], []
    for family in run_families:
        family(ctx)
    run.seconds = time.perf_counter() - started
    return run


def _expected(model: TenancyModel, writes: bool) -> set[tuple[str, str]]:
    """(table, op) every run must prove; spoofs are per column and reported by the spoof family itself."""
    out: set[tuple[str, str]] = set()
    for table in model.tenant_tables:
        ops: tuple[str, ...] = READ_OPS + BLIND_OPS
        if writes:
            ops += ("update", "delete") if table.is_tenant_table else ("update", "delete", "insert", "move")
        if model.anon_role is not None:
            ops += ANON_OPS[:1]
            if writes:
                ops += ANON_OPS[2:] + (() if table.is_tenant_table else ANON_OPS[1:2])
        out |= {(str(table.name), op) for op in ops}
    return out


def _rejected(exc: psycopg.Error) -> Attempt:
    message = (exc.diag.message_primary or str(exc)).strip().splitlines()[0]
    return Attempt(None, exc.sqlstate, message)


def _allow_list(entries: tuple[str, ...]) -> set[tuple[QualifiedName, str, str | None]]:
    out = set()
    for entry in entries:
        target, _, op = entry.partition(":")
        table, _, column = target.rpartition(".")
        out.add((qualify(table), column, op or None))
    return out
