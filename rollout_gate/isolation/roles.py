"""Role rules in the database: what each declared role may do, tried as members of one test tenant.

Everything happens in one transaction that is rolled back. As admin the matrix picks a test tenant T
(one with an active owner and rows in the most tenant tables) and makes members of T in every role of
`tenancy.roles`, an inactive member with the owner role (where a status column exists), a member whose
membership the others try to manage, and picks a signed-in non-member (see roles_setup.py). Then each
cell runs in its own savepoint, also rolled back: impersonate the actor, run one statement, go back to
admin and read what was stored.

- roles without `write` cannot insert, update or delete T's rows in the tenant tables;
- roles without `manage_memberships` / `manage_invitations` cannot insert, update or delete T's
  memberships / invitations;
- nobody raises their own role to the owner role, and a non-member cannot insert a membership for
  themself (the declared invitation path, a function, is the way in);
- an inactive member (even an owner) and a non-member read nothing of T, write nothing, manage
  nothing, and the inactive member cannot reactivate itself.

Every denial has a positive control: the same statement by a member who holds the capability (the
owner first) must store what it tried, or the cell is inconclusive, never ok. An operation the API
role holds no privilege for is settled by the grants. Nothing runs where writes are forbidden.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from rollout_gate.catalog.names import qualify
from rollout_gate.catalog.tenancy import TenancyModel, TenantTable
from rollout_gate.config.models import Capability
from rollout_gate.isolation.impersonation import Impersonator
from rollout_gate.isolation.results import INCONCLUSIVE, LEAK, OK, Attempt, ProbeResult
from rollout_gate.isolation.roles_setup import Actor, Fixture, RowTarget, SetupError, prepare
from rollout_gate.isolation.round_trip import RolledBack

# The rules a cell belongs to (one suite test each).
READ_ONLY, MANAGE, ESCALATION, INACTIVE = "read_only", "manage", "escalation", "inactive"
RULES = (READ_ONLY, MANAGE, ESCALATION, INACTIVE)
_COMMAND = {"select": "SELECT", "insert": "INSERT", "update": "UPDATE", "delete": "DELETE",
            "raise_role": "UPDATE", "reactivate": "UPDATE", "self_join": "INSERT"}  # fmt: skip


@dataclass(frozen=True)
class Readback:
    """As admin, in the cell's savepoint after the attempt: a query whose first column is true when the
    attempt stored something (`what` says what)."""

    query: sql.Composed | sql.SQL
    params: Any
    what: str


@dataclass(frozen=True)
class Cell:
    rule: str
    result: ProbeResult


@dataclass
class RoleMatrixRun:
    cells: list[Cell] = field(default_factory=list)
    statements: int = 0
    seconds: float = 0.0
    tenant: str | None = None
    actors: list[Actor] = field(default_factory=list)
    # Why the matrix did not run (writes forbidden, nothing to build it from): inconclusive, never a pass.
    not_run: str = ""

    @property
    def results(self) -> list[ProbeResult]:
        return [c.result for c in self.cells]

    def of(self, rule: str, status: str | None = None) -> list[ProbeResult]:
        return [c.result for c in self.cells if c.rule == rule and (status is None or c.result.status == status)]

    @property
    def rate(self) -> float:
        """Matrix statements (every attempt and every control) per second, set-up included."""
        return self.statements / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        if self.not_run:
            return f"role matrix not run: {self.not_run}"
        counts = {s: len([r for r in self.results if r.status == s]) for s in (OK, LEAK, INCONCLUSIVE)}
        return (
            f"role matrix on tenant {self.tenant}: {len(self.actors)} actor(s), {len(self.cells)} cell(s): "
            f"{counts[OK]} ok, {counts[LEAK]} failing, {counts[INCONCLUSIVE]} inconclusive; "
            f"{self.statements} statements in {self.seconds:.2f}s ({self.rate:.0f}/s)"
        )


@dataclass(frozen=True)
class _Outcome:
    attempt: Attempt
    stored: str | None  # what was stored, as read back by the admin; None: nothing
    note: str = ""

    def __str__(self) -> str:
        if self.stored:
            return self.stored
        if self.note:
            return self.note
        if self.attempt.touched:
            return f"{self.attempt.rows} row(s) reported, nothing stored"
        return self.attempt.how_rejected


class RoleMatrix:
    def __init__(self, conn: psycopg.Connection[Any], model: TenancyModel) -> None:
        self.conn = conn
        self.model = model
        self.impersonator = Impersonator(model.config.impersonation)
        self.run = RoleMatrixRun()
        self._controls: dict[str, tuple[Actor | None, _Outcome | None]] = {}
        self._rolled_back = RolledBack(conn)

    def matrix(self) -> RoleMatrixRun:
        started = time.perf_counter()
        try:
            with self.conn.transaction(force_rollback=True):
                try:
                    fx = prepare(self.conn, self.model)
                except SetupError as exc:
                    self.run.not_run = str(exc)
                    return self.run
                self.run.tenant, self.run.actors = fx.tenant, fx.actors
                self._cells(fx)
        finally:
            self.run.seconds = time.perf_counter() - started
        return self.run

    # -- one statement -------------------------------------------------------------------

    def _try(self, actor: Actor, query: sql.Composed | sql.SQL, params: Any, readback: Readback) -> _Outcome:
        """`query` as `actor` in a savepoint; then, as admin in the same savepoint, what it stored."""
        self.run.statements += 1
        try:
            rows, _first, stored = self._cell(actor, query, params, readback)
        except psycopg.Error as exc:
            message = (exc.diag.message_primary or str(exc)).strip().splitlines()[0]
            return _Outcome(Attempt(None, exc.sqlstate, message), None)
        return _Outcome(Attempt(rows), readback.what if stored else None)

    def _cell(
        self, actor: Actor, query: sql.Composed | sql.SQL, params: Any, readback: Readback | None
    ) -> tuple[int, tuple[Any, ...] | None, bool]:
        """In a savepoint that is rolled back: act as `actor`, run `query`, then (as the harness's own login,
        which sees every row) `readback`. Returns the statement's row count, its first row, and whether the
        read-back found something stored.

        Sent as ONE round trip, values bound client-side by psycopg: the savepoint, impersonation, statement,
        reset and read-back round trips cost several times the statement itself. A target with a pre-request
        function takes the statement-by-statement path (its rejection needs a savepoint of its own)."""
        imp = self.impersonator
        if imp.config.pre_request:
            with self.conn.transaction(force_rollback=True):
                imp.member(self.conn, actor.user_id, actor.tenant_for_claims, actor.email)
                cur = self.conn.execute(query, params)
                first = cur.fetchone() if cur.description else None
                rows = cur.rowcount
                # Back to the harness's own login (it sees every row) to read what was stored.
                self.conn.execute("reset role")
                stored = readback is not None and self._found(self.conn.execute(readback.query, readback.params))
                return rows, first, stored
        # Each statement bound on its own (their placeholders differ), then sent together.
        bind = self._rolled_back.cursor.mogrify
        acting = imp.member_statements(actor.user_id, actor.tenant_for_claims, actor.email)
        parts = [*(bind(q, p) for q, p in acting), bind(query, params)]
        if readback is not None:
            parts += ["reset role", bind(readback.query, readback.params)]
        cur = self._rolled_back.execute(sql.SQL("; ".join(parts)))
        for _ in acting:
            cur.nextset()
        rows = cur.rowcount
        first = cur.fetchone() if cur.description else None
        stored = False
        if readback is not None:
            cur.nextset()  # reset role
            cur.nextset()
            stored = self._found(cur)
        return rows, first, stored

    @staticmethod
    def _found(cur: psycopg.Cursor[Any]) -> bool:
        row = cur.fetchone()
        return bool(row and row[0])

    def _exists(self, query: sql.Composed | sql.SQL, params: Any, what: str) -> Readback:
        return Readback(query, params, what)

    def _gone(self, target: RowTarget, what: str) -> Readback:
        """The row version at `target` was replaced (updated) or removed: it is no longer the live one."""
        query = sql.SQL("select not exists (select 1 from {} where ctid = %s::tid)").format(target.table.ident)
        return self._exists(query, (target.ctid,), what)

    # -- the matrix ----------------------------------------------------------------------

    def _cells(self, fx: Fixture) -> None:
        actors = fx.actors
        data = [t for t in self.model.tenant_tables if t.name not in fx.managed_tables]
        for table in data:
            for actor in actors:
                if not actor.may("read"):
                    self._read(fx, actor, table, READ_ONLY if actor.active_member else INACTIVE)
                if not actor.may("write"):
                    rule = READ_ONLY if actor.active_member else INACTIVE
                    self._writes(fx, actor, table, "write", rule)
        for name, capability in fx.managed_tables.items():
            managed = self.model.tenant_table_of(name) or TenantTable(name, fx.tenant_key_of(name))
            for actor in actors:
                if not actor.active_member:
                    self._read(fx, actor, managed, INACTIVE)
                if not actor.may(capability):
                    self._writes(fx, actor, managed, capability, MANAGE if actor.active_member else INACTIVE)
        for actor in actors:
            if actor.active_member and actor.role != self.model.config.membership.owner_role:
                self._raise_role(fx, actor)
        if fx.outsider is not None:
            self._self_join(fx, fx.outsider)
        if fx.inactive is not None:
            self._reactivate(fx, fx.inactive)

    def _add(self, rule: str, op: str, table: str, actor: Actor, status: str, detail: str, tenant: str) -> None:
        policies = ""
        if status == LEAK:
            policies = self.model.catalog.describe_policies(qualify(table), _COMMAND[op], self.model.member_role)
        result = ProbeResult(op, table, str(actor), tenant, status, detail, policies)
        self.run.cells.append(Cell(rule, result))

    def _settled(self, table: TenantTable | str, command: str) -> str | None:
        """Why no row can be touched whatever the row: the privilege is not granted, or RLS has no policy for it."""
        name = table.name if isinstance(table, TenantTable) else qualify(table)
        meta, role = self.model.table(name), self.model.member_role
        if command not in meta.privileges.get(role, frozenset()):
            return f"not granted to {role}"
        permissive = [p for p in self.model.catalog.policies_for(name, command, role) if p.permissive]
        if meta.rls_enabled and (meta.owner != role or meta.rls_forced) and not permissive:
            return f"no {command} policy for {role}: row level security lets no row through"
        return None

    def _judge(
        self, rule: str, op: str, table: str, actor: Actor, fx: Fixture, key: str,
        attempt: Callable[[Actor], _Outcome], capability: Capability, verb: str,
    ) -> None:  # fmt: skip
        """A denial cell: a leak if `actor` stored something; conclusive only if a capable member could."""
        outcome = attempt(actor)
        if outcome.stored or outcome.attempt.touched:
            stored = outcome.stored or f"{verb} ({outcome.attempt.rows} row(s) reported)"
            self._add(rule, op, table, actor, LEAK, stored, fx.tenant)
            return
        control, control_outcome = self._control(fx, key, attempt, capability)
        if control is None:
            self._add(rule, op, table, actor, INCONCLUSIVE, f"no member holds {capability} for the control", fx.tenant)
        elif control_outcome is None or not control_outcome.stored:
            detail = f"positive control failed: {control} could not either ({control_outcome})"
            self._add(rule, op, table, actor, INCONCLUSIVE, detail, fx.tenant)
        else:
            self._add(rule, op, table, actor, OK, f"{outcome}; control: {control} {verb}", fx.tenant)

    def _control(
        self, fx: Fixture, key: str, attempt: Callable[[Actor], _Outcome], capability: Capability
    ) -> tuple[Actor | None, _Outcome | None]:
        """The first member holding `capability` (owner first) that manages to do it; once per kind of cell."""
        if key not in self._controls:
            tried: tuple[Actor | None, _Outcome | None] = (None, None)
            for actor in fx.capable(capability):
                tried = (actor, attempt(actor))
                if tried[1] is not None and tried[1].stored:
                    break
            self._controls[key] = tried
        return self._controls[key]

    # -- tenant data, memberships, invitations ----------------------------------------

    def _read(self, fx: Fixture, actor: Actor, table: TenantTable, rule: str) -> None:
        name = str(table.name)
        settled = self._settled(table, "SELECT")
        if settled:
            self._add(rule, "select", name, actor, OK, settled, fx.tenant)
            return
        meta = self.model.table(table.name)
        others: sql.Composable = sql.SQL("")
        if table.name == self.model.membership_table:
            # Its own membership row is the actor's to see.
            m = self.model.config.membership
            others = sql.SQL(" and {}::text <> %(self)s").format(sql.Identifier(m.user_column))
        query = sql.SQL("select exists (select 1 from {} where {} = %(tenant)s::{}{})").format(
            table.name.ident, sql.Identifier(table.key), sql.SQL(meta.columns[table.key].type), others
        )

        def attempt(who: Actor) -> _Outcome:
            self.run.statements += 1
            try:
                _rows, row, _stored = self._cell(who, query, {"tenant": fx.tenant, "self": who.user_id}, None)
                if row and row[0]:
                    return _Outcome(Attempt(1), f"saw rows of tenant {fx.tenant}")
                return _Outcome(Attempt(0), None, f"saw no row of tenant {fx.tenant}")
            except psycopg.Error as exc:
                message = (exc.diag.message_primary or str(exc)).strip().splitlines()[0]
                return _Outcome(Attempt(None, exc.sqlstate, message), None)

        self._judge(rule, "select", name, actor, fx, f"select:{name}", attempt, "read", "saw them")

    def _writes(self, fx: Fixture, actor: Actor, table: TenantTable, capability: Capability, rule: str) -> None:
        name = str(table.name)
        target = fx.targets.get(table.name)
        ops = ("update", "delete") if table.is_tenant_table else ("insert", "update", "delete")
        for op in ops:
            settled = self._settled(table, op.upper())
            if settled:
                self._add(rule, op, name, actor, OK, settled, fx.tenant)
                continue
            if op == "insert":
                self._insert(fx, actor, table, capability, rule)
                continue
            if target is None:
                why = fx.missing.get(table.name, "no row of the test tenant")
                self._add(rule, op, name, actor, INCONCLUSIVE, f"nothing to aim at: {why}", fx.tenant)
                continue
            if op == "update":
                column = self._updatable(table)
                if column is None:
                    self._add(rule, op, name, actor, OK, f"no column updatable by {self.model.member_role}", fx.tenant)
                    continue
                query = sql.SQL("update {} set {c} = {c} where ctid = %s::tid").format(
                    table.name.ident, c=sql.Identifier(column)
                )
                verb = f"stored a new version of {target.keys}"
            else:
                query = sql.SQL("delete from {} where ctid = %s::tid").format(table.name.ident)
                verb = f"deleted {target.keys}"
            readback = self._gone(target, verb)

            def attempt(who: Actor, query: sql.Composed = query, readback: Readback = readback) -> _Outcome:
                return self._try(who, query, (target.ctid,), readback)

            self._judge(rule, op, name, actor, fx, f"{op}:{name}", attempt, capability, verb)

    def _insert(self, fx: Fixture, actor: Actor, table: TenantTable, capability: Capability, rule: str) -> None:
        name = str(table.name)
        if fx.plan_insert(table, actor) is None:
            why = fx.missing.get(table.name, "no row to copy")
            self._add(rule, "insert", name, actor, INCONCLUSIVE, f"cannot build a row: {why}", fx.tenant)
            return

        def attempt(who: Actor) -> _Outcome:
            planned = fx.plan_insert(table, who)
            if planned is None:
                return _Outcome(Attempt(None, None, "cannot build a row"), None)
            plan, identity = planned
            readback = self._exists(identity[0], identity[1], f"stored a row {identity[2]} in tenant {fx.tenant}")
            return self._try(who, plan.insert(), (json.dumps(plan.values, default=str),), readback)

        self._judge(rule, "insert", name, actor, fx, f"insert:{name}", attempt, capability, "inserted a row")

    def _updatable(self, table: TenantTable) -> str | None:
        meta = self.model.table(table.name)
        allowed = meta.updatable_columns.get(self.model.member_role, frozenset())
        columns = [c for c, col in meta.columns.items() if c in allowed and not col.generated]
        plain = [c for c in columns if c not in meta.primary_key and c != table.key]
        return next(iter(plain or columns), None)

    # -- escalation ----------------------------------------------------------------------

    def _membership_update(
        self, fx: Fixture, actor: Actor, op: str, rule: str, column: str, value: Any, expect: str
    ) -> None:
        """`actor` sets `column` of its own membership to `value`; a manager doing the same is the control."""
        name = str(self.model.membership_table)
        updatable = self.model.table(self.model.membership_table).updatable_columns.get(self.model.member_role, ())
        settled = self._settled(name, "UPDATE")
        if settled or column not in updatable:
            why = settled or f"{column} not updatable by {self.model.member_role}"
            self._add(rule, op, name, actor, OK, why, fx.tenant)
            return
        own = fx.memberships.get(actor.user_id)
        if own is None:
            self._add(rule, op, name, actor, INCONCLUSIVE, "its membership row could not be made", fx.tenant)
            return
        query = sql.SQL("update {} set {} = %s::{} where ctid = %s::tid").format(
            self.model.membership_table.ident, sql.Identifier(column), sql.SQL(fx.membership.type_of(column))
        )
        what = f"stored {column} = {expect} in its own membership"
        readback = self._exists(fx.membership.has(column, expect), (actor.user_id, fx.tenant), what)

        def attempt(who: Actor) -> _Outcome:
            return self._try(who, query, (value, own.ctid), readback)

        verb = f"set {column} = {expect}"
        self._judge(rule, op, name, actor, fx, f"{op}:{actor.user_id}", attempt, "manage_memberships", verb)

    def _raise_role(self, fx: Fixture, actor: Actor) -> None:
        owner = self.model.config.membership.owner_role
        value = fx.membership.role_value(actor.role, owner)
        self._membership_update(fx, actor, "raise_role", ESCALATION, fx.membership.role_column, value, owner)

    def _reactivate(self, fx: Fixture, actor: Actor) -> None:
        m = self.model.config.membership
        if m.status_column and m.active_value:
            self._membership_update(fx, actor, "reactivate", INACTIVE, m.status_column, m.active_value, m.active_value)

    def _self_join(self, fx: Fixture, actor: Actor) -> None:
        name = str(self.model.membership_table)
        settled = self._settled(name, "INSERT")
        if settled:
            self._add(ESCALATION, "self_join", name, actor, OK, settled, fx.tenant)
            return
        check = fx.membership.exists_query()

        def attempt(who: Actor) -> _Outcome:
            plan = fx.membership_row(writer=who, member=actor.user_id, role=fx.lowest_role)
            if plan is None:
                return _Outcome(Attempt(None, None, "cannot build a membership row"), None)
            readback = self._exists(check, (actor.user_id, fx.tenant), f"stored a membership of its own in {fx.tenant}")
            return self._try(who, plan.insert(), (json.dumps(plan.values, default=str),), readback)

        self._judge(ESCALATION, "self_join", name, actor, fx, "self_join", attempt, "manage_memberships", "added them")


def role_matrix(conn: psycopg.Connection[Any], model: TenancyModel, *, writes: bool) -> RoleMatrixRun:
    """The role matrix on one test tenant; where writes are forbidden nothing runs (not even rolled back)."""
    if not writes:
        return RoleMatrixRun(not_run="the environment forbids writes (safety.allow_writes: false)")
    return RoleMatrix(conn, model).matrix()
