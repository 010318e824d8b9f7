"""Behavioural isolation probes: act as real members and try to reach other tenants' rows.

One transaction per sampled member, always rolled back. As admin, for every tenant table: pick two
of the member's own rows, rows of another tenant B (preferably another sampled one) and plan the
INSERT rows. Then impersonate the member and run every probe statement in its own savepoint (also
rolled back):

- select: no row of a tenant the member does not belong to is visible; positive control: the
  member sees its own tenant's rows;
- update / delete: statements aimed at B's rows touch 0 rows; control: the same on its own rows
  touches them;
- insert: a row keyed to B is rejected; control: the same row keyed to its own tenant is accepted;
- move: setting its own row's tenant key to B is rejected (control: setting it to its own tenant);
- blind_update / blind_delete: the UPDATE/DELETE policies, replayed on copies of its own and of B's
  rows (replay.py), accept only its own: an unfiltered statement is not saved by the SELECT policies;
- spoof_insert / spoof_update: a column referencing the user table cannot be set to another user
  (columns listed in `tenancy.probes.ownership_allow` are not probed);
  move and spoof_update use `UPDATE ... WHERE CURRENT OF` (see `_set_current`);
- anon_*: the anonymous role reads and writes nothing (control: the table has rows).

A probe whose control fails, or that has nothing to aim at, is `inconclusive`, never `ok`; an
operation the role holds no privilege for is settled by the grants (`ok`, "not granted").
Write probes run only when the environment allows writes; otherwise transactions are read only
(select, blind and anon reads still run).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from rollout_gate.catalog.names import QualifiedName, qualify
from rollout_gate.catalog.tenancy import TenancyModel, TenantTable
from rollout_gate.isolation.impersonation import Impersonator
from rollout_gate.isolation.replay import replay_query, using_predicate
from rollout_gate.isolation.results import INCONCLUSIVE, LEAK, OK, Attempt, ProbeResult, ProbeRun
from rollout_gate.isolation.rowgen import RowError, RowPlan, plan_row
from rollout_gate.isolation.sampling import Member

_COMMAND = {"select": "SELECT", "update": "UPDATE", "delete": "DELETE", "insert": "INSERT", "move": "UPDATE"}
_BLIND = (("blind_update", "UPDATE"), ("blind_delete", "DELETE"))
Plan = RowPlan | str  # a row to insert, or why none could be built


@dataclass
class _Aim:
    """What the admin picked for one table before impersonating."""

    table: TenantTable
    key_type: str
    own: list[str]
    own_tenant: str = ""
    other_tenant: str | None = None
    other: list[str] = field(default_factory=list)
    # Own and other rows as JSON, to replay the UPDATE/DELETE policies on (see replay.py).
    own_rows: str = "[]"
    other_rows: str = "[]"
    outsider: str | None = None
    plans: dict[str, Plan] = field(default_factory=dict)


class ProbeRunner:
    def __init__(self, conn: psycopg.Connection[Any], model: TenancyModel, *, writes: bool) -> None:
        self.conn = conn
        self.model = model
        self.writes = writes
        self.impersonator = Impersonator(model.config.impersonation)
        self.run = ProbeRun(writes=writes)
        self._allow = _allow_list(model.config.probes.ownership_allow)
        self._outsiders: dict[tuple[str, ...], str | None] = {}

    def probe(self, members: list[Member]) -> ProbeRun:
        started = time.perf_counter()
        self.run.members = list(members)
        for member in members:
            self._member(member, [m for m in members if m is not member])
        self._anon()
        self.run.seconds = time.perf_counter() - started
        return self.run

    # -- statements ----------------------------------------------------------------------

    def _begin(self) -> None:
        if not self.writes:
            self.conn.execute("set transaction read only")
        # Lock and statement timeouts come with the session (rollout_gate.db, target.timeouts).
        # "No row of another tenant" is only answered by looking at every visible row; with a
        # LIMIT the planner bets on a sequential scan of the whole table, while the tenant key
        # index reaches exactly the rows the policy lets through (often 20x faster).
        self.conn.execute("set local enable_seqscan = off")

    def _run(self, query: sql.Composed | sql.SQL, params: Any, fetch: bool) -> tuple[Any, ...] | Attempt:
        self.run.statements += 1
        try:
            with self.conn.transaction(force_rollback=True):
                cur = self.conn.execute(query, params)
                if fetch:
                    row = cur.fetchone()
                    return tuple(row) if row else ()
                return Attempt(cur.rowcount)
        except psycopg.Error as exc:
            message = (exc.diag.message_primary or str(exc)).strip().splitlines()[0]
            return Attempt(None, exc.sqlstate, message)

    def _attempt(self, query: sql.Composed | sql.SQL, params: Any = ()) -> Attempt:
        result = self._run(query, params, fetch=False)
        assert isinstance(result, Attempt)
        return result

    def _set_current(self, aim: _Aim, column: str, type_: str, value: str | None) -> Attempt:
        """`UPDATE ... SET column = value WHERE CURRENT OF` a cursor on one of the member's own rows.

        A WHERE clause that reads the table (even `ctid = ...`) makes PostgreSQL check the new row
        against the SELECT policies too, which hides a WITH CHECK that lets rows out; an unfiltered
        UPDATE (what `PATCH /table` without a filter sends) does not. The cursor gives that blind
        form for exactly one row.
        """
        self.run.statements += 1
        t = aim.table.name.ident
        try:
            with self.conn.transaction(force_rollback=True):
                self.conn.execute(
                    sql.SQL("declare rg_probe cursor for select 1 from {} where ctid = %s::tid for update").format(t),
                    (aim.own[0],),
                )
                if self.conn.execute("fetch rg_probe").fetchone() is None:
                    return Attempt(None, "42501", "the member cannot lock its own row for update")
                cur = self.conn.execute(
                    sql.SQL("update {} set {} = %s::{} where current of rg_probe").format(
                        t, sql.Identifier(column), sql.SQL(type_)
                    ),
                    (value,),
                )
                return Attempt(cur.rowcount)
        except psycopg.Error as exc:
            message = (exc.diag.message_primary or str(exc)).strip().splitlines()[0]
            return Attempt(None, exc.sqlstate, message)

    def _write_row(self, plan: RowPlan) -> Attempt:
        return self._attempt(plan.insert(), (json.dumps(plan.values, default=str),))

    def _add(self, op: str, table: TenantTable, actor: str, other: str | None, status: str, detail: str) -> None:
        command = _COMMAND.get(op.removeprefix("anon_").removeprefix("spoof_").removeprefix("blind_"), "ALL")
        role = (self.model.anon_role if op.startswith("anon_") else self.model.member_role) or ""
        policies = self.model.catalog.describe_policies(table.name, command, role) if status == LEAK else ""
        self.run.results.append(ProbeResult(op, str(table.name), actor, other, status, detail, policies))

    # -- members -------------------------------------------------------------------------

    def _member(self, member: Member, others: list[Member]) -> None:
        with self.conn.transaction(force_rollback=True):
            self._begin()
            aims = [self._aim(t, member, others) for t in self.model.tenant_tables]
            self.impersonator.member(self.conn, member.user_id, member.tenant_id, member.email)
            actor = f"member of {member}"
            for aim in aims:
                self._select(member, aim, actor)
                self._blinds(aim, actor)
                if self.writes:
                    self._writes(aim, actor)
                    self._spoofs(member, aim, actor)

    def _aim(self, table: TenantTable, member: Member, others: list[Member]) -> _Aim:
        key_type = self.model.table(table.name).columns[table.key].type
        t, key, typ = table.name.ident, sql.Identifier(table.key), sql.SQL(key_type)
        by_tenant = sql.SQL("select ctid::text from {} where {} = %s::{} limit %s").format(t, key, typ)
        own = [r[0] for r in self.conn.execute(by_tenant, (member.tenant_id, 2)).fetchall()]
        aim = _Aim(table, key_type, own, member.tenant_id)
        preferred = [o.tenant_id for o in others if o.tenant_id not in member.tenants]
        row = self.conn.execute(
            sql.SQL(
                "select coalesce((select x from unnest(%s::text[]) with ordinality u(x, i) "
                "where exists (select 1 from {t} where {key} = x::{typ}) order by i limit 1), "
                "(select {key}::text from {t} where {key} is not null and not ({key} = any(%s::{typ}[])) limit 1))"
            ).format(t=t, key=key, typ=typ),
            (preferred, list(member.tenants)),
        ).fetchone()
        aim.other_tenant = row[0] if row else None
        if aim.other_tenant is not None:
            aim.other = [r[0] for r in self.conn.execute(by_tenant, (aim.other_tenant, 3)).fetchall()]
        if aim.own and aim.other:
            rows = sql.SQL("select coalesce(jsonb_agg(to_jsonb(t)), '[]')::text from {} t where ctid = any(%s::tid[])")
            aim.own_rows = self.conn.execute(rows.format(t), (aim.own,)).fetchone()[0]  # type: ignore[index]
            aim.other_rows = self.conn.execute(rows.format(t), (aim.other,)).fetchone()[0]  # type: ignore[index]
        if self.writes and aim.own:
            self._plan_rows(aim, member)
        return aim

    def _plan_rows(self, aim: _Aim, member: Member) -> None:
        got = self.conn.execute(
            sql.SQL("select to_jsonb(t) from {} t where ctid = %s::tid").format(aim.table.name.ident), (aim.own[0],)
        ).fetchone()
        template = got[0] if got else None
        aim.outsider = self._outsider([member.tenant_id, *([aim.other_tenant] if aim.other_tenant else [])])

        def plan(tenant: str | None, overrides: dict[str, Any] | None = None) -> Plan:
            if template is None:
                return "no template row"
            try:
                return plan_row(
                    self.conn, self.model, aim.table, template, tenant=tenant, actor=member.user_id,
                    outsider=aim.outsider, overrides=overrides,
                )  # fmt: skip
            except RowError as exc:
                return str(exc)

        home = None if aim.table.is_tenant_table else member.tenant_id
        # The member's own row: the positive control of the INSERT probe and of every spoofing probe.
        own = aim.plans["own"] = aim.plans["self"] = plan(home)
        if not aim.table.is_tenant_table and aim.other_tenant is not None:
            aim.plans["other"] = plan(aim.other_tenant)
        for column in self.model.user_columns(aim.table.name):
            if not _allowed(self._allow, aim.table.name, column, "insert") and aim.outsider is not None:
                spoof = own if isinstance(own, str) else RowPlan(own.table, {**own.values, column: aim.outsider})
                if not isinstance(spoof, str):
                    spoof.columns = list(spoof.values)
                aim.plans[f"spoof:{column}"] = spoof

    def _outsider(self, tenants: list[str]) -> str | None:
        """A user who belongs to none of `tenants` (the "another user" of spoofing probes)."""
        key = tuple(sorted(tenants))
        if key not in self._outsiders:
            self._outsiders[key] = self._find_outsider(tenants)
        return self._outsiders[key]

    def _find_outsider(self, tenants: list[str]) -> str | None:
        cfg, m = self.model.config, self.model.config.membership
        row = self.conn.execute(
            sql.SQL(
                "select u.{ukey}::text from {users} u where not exists (select 1 from {members} m "
                "where m.{muser} = u.{ukey} and m.{mtenant}::text = any(%s)) order by 1 limit 1"
            ).format(
                ukey=sql.Identifier(cfg.user_key),
                users=self.model.user_table.ident,
                members=self.model.membership_table.ident,
                muser=sql.Identifier(m.user_column),
                mtenant=sql.Identifier(m.tenant_column),
            ),
            (tenants,),
        ).fetchone()
        return row[0] if row else None

    def _select(self, member: Member, aim: _Aim, actor: str) -> None:
        # Existence, not counts: as cheap for a tenant of millions of rows as for one of ten.
        key, typ = sql.Identifier(aim.table.key), sql.SQL(aim.key_type)
        foreign = sql.SQL("({key} is null or not ({key} = any(%(mine)s::{typ}[])))").format(key=key, typ=typ)
        got = self._run(
            sql.SQL(
                "select exists (select 1 from {t} where {key} = any(%(mine)s::{typ}[])), "
                "(select array_agg(distinct k) from (select coalesce({key}::text, 'NULL') as k from {t} "
                "where {foreign} limit 100) f)"
            ).format(key=key, typ=typ, foreign=foreign, t=aim.table.name.ident),
            {"mine": list(member.tenants)},
            fetch=True,
        )
        table, other = aim.table, aim.other_tenant
        if isinstance(got, Attempt):
            if not self._granted(table, "SELECT"):
                self._add("select", table, actor, other, OK, f"not granted to {self.model.member_role}: {got}")
            else:
                self._add("select", table, actor, other, INCONCLUSIVE, f"probe denied: {got}")
            return
        sees_own, leaked = got
        if leaked:
            counted = self._run(
                sql.SQL("select count(*) from {} where {}").format(aim.table.name.ident, foreign),
                {"mine": list(member.tenants)},
                fetch=True,
            )
            rows = counted[0] if isinstance(counted, tuple) and counted else "some"
            detail = f"saw {rows} row(s) of other tenants (e.g. {', '.join(sorted(leaked)[:3])})"
            self._add("select", table, actor, sorted(leaked)[0], LEAK, detail)
        elif not aim.own:
            self._add("select", table, actor, other, INCONCLUSIVE, "the member's tenant has no rows here")
        elif not sees_own:
            detail = "positive control failed: the member sees none of its own tenant's rows"
            self._add("select", table, actor, other, INCONCLUSIVE, detail)
        elif other is None:
            self._add("select", table, actor, None, INCONCLUSIVE, "no other tenant has rows here")
        else:
            self._add("select", table, actor, other, OK, "saw its own rows, none of other tenants")

    def _writes(self, aim: _Aim, actor: str) -> None:
        table, t = aim.table, aim.table.name.ident
        # An operation the role holds no privilege for is impossible for every tenant: settled by the grants.
        column = self._updatable(table)
        move_key = table.key if column == table.key else None
        denied = {
            "update": None if column else "no column is updatable",
            "delete": None if self._granted(table, "DELETE") else "no DELETE privilege",
            "insert": None if self._granted(table, "INSERT") else "no INSERT privilege",
            "move": None if move_key else f"{table.key} is not updatable",
        }
        ops = ("update", "delete") if table.is_tenant_table else ("update", "delete", "insert", "move")
        for op in ops:
            if denied[op]:
                self._add(
                    op, table, actor, aim.other_tenant, OK, f"not granted to {self.model.member_role}: {denied[op]}"
                )
        pending = [op for op in ops if not denied[op]]
        if not aim.own or aim.other_tenant is None:
            why = "the member's tenant has no rows here" if not aim.own else "no other tenant has rows here"
            for op in pending:
                self._add(op, table, actor, aim.other_tenant, INCONCLUSIVE, why)
            return
        if "update" in pending and column is not None:
            noop = sql.SQL("update {} set {c} = {c} where ctid = any(%s::tid[])").format(t, c=sql.Identifier(column))
            self._judge("update", aim, actor, self._attempt(noop, (aim.own,)), self._attempt(noop, (aim.other,)))
        if "delete" in pending:
            delete = sql.SQL("delete from {} where ctid = any(%s::tid[])").format(t)
            self._judge(
                "delete", aim, actor, self._attempt(delete, (aim.own[:1],)), self._attempt(delete, (aim.other,))
            )
        if "insert" in pending:
            own, other = aim.plans.get("own", "no template row"), aim.plans.get("other", "no template row")
            if isinstance(own, str) or isinstance(other, str):
                reason = own if isinstance(own, str) else other
                self._add("insert", table, actor, aim.other_tenant, INCONCLUSIVE, f"cannot build a row: {reason}")
            else:
                self._judge("insert", aim, actor, self._write_row(own), self._write_row(other))
        if "move" in pending and move_key is not None:
            own_key = self._set_current(aim, move_key, aim.key_type, aim.own_tenant)
            moved = self._set_current(aim, move_key, aim.key_type, aim.other_tenant)
            self._judge("move", aim, actor, own_key, moved)

    def _blinds(self, aim: _Aim, actor: str) -> None:
        """Would an unfiltered UPDATE/DELETE reach tenant B's rows? (policies replayed on copies, see replay.py)"""
        for op, command in _BLIND:
            granted = (
                self._updatable(aim.table) is not None if command == "UPDATE" else self._granted(aim.table, "DELETE")
            )
            if not granted:
                self._add(op, aim.table, actor, aim.other_tenant, OK, f"not granted to {self.model.member_role}")
            elif not self.model.table(aim.table.name).rls_enabled:
                self._add(op, aim.table, actor, aim.other_tenant, INCONCLUSIVE, "RLS is off: no policy to replay")
            elif aim.own_rows == "[]" or aim.other_rows == "[]":
                why = "the member's tenant has no rows here" if not aim.own else "no other tenant has rows here"
                self._add(op, aim.table, actor, aim.other_tenant, INCONCLUSIVE, why)
            else:
                self._blind(op, command, aim, actor)

    def _blind(self, op: str, command: str, aim: _Aim, actor: str) -> None:
        predicate = using_predicate(self.model, aim.table, command, self.model.member_role)
        if predicate is None:
            self._add(op, aim.table, actor, aim.other_tenant, OK, f"no {command} policy lets any row through")
            return
        params = {"own": aim.own_rows, "other": aim.other_rows}
        got = self._run(replay_query(aim.table, predicate), params, fetch=True)
        if isinstance(got, Attempt):
            self._add(op, aim.table, actor, aim.other_tenant, INCONCLUSIVE, f"policy replay failed: {got}")
            return
        own, other = got
        if other:
            detail = (
                f"an unfiltered {command} (no WHERE, e.g. the API's {command} without a filter"
                + (f"; SET {aim.table.key} = <own tenant> pulls them in" if command == "UPDATE" else "")
                + f") would reach {other} sampled row(s) of tenant {aim.other_tenant}: the {command} policies' USING "
                "accepts them (a filtered statement is saved only by the SELECT policies)"
            )
            self._add(op, aim.table, actor, aim.other_tenant, LEAK, detail)
        elif not own:
            detail = f"positive control failed: the {command} policies accept none of the member's own rows"
            self._add(op, aim.table, actor, aim.other_tenant, INCONCLUSIVE, detail)
        else:
            self._add(op, aim.table, actor, aim.other_tenant, OK, f"the {command} policies accept only its own rows")

    def _granted(self, table: TenantTable, privilege: str) -> bool:
        return privilege in self.model.table(table.name).privileges.get(self.model.member_role, frozenset())

    def _judge(self, op: str, aim: _Aim, actor: str, control: Attempt, result: Attempt) -> None:
        """A write aimed at the other tenant: a leak if it touched rows; conclusive only with a passing control."""
        table, other = aim.table, aim.other_tenant
        if result.touched:
            what = {
                "update": f"changed {result.rows} row(s) of tenant {other}",
                "delete": f"deleted {result.rows} row(s) of tenant {other}",
                "insert": f"wrote a row keyed to tenant {other}",
                "move": f"moved its own row to tenant {other}",
            }[op]
            self._add(op, table, actor, other, LEAK, what)
        elif not control.touched:
            self._add(op, table, actor, other, INCONCLUSIVE, f"positive control failed: on its own rows {control}")
        else:
            self._add(op, table, actor, other, OK, result.how_rejected)

    def _updatable(self, table: TenantTable) -> str | None:
        meta = self.model.table(table.name)
        allowed = meta.updatable_columns.get(self.model.member_role, frozenset())
        if table.key in allowed:
            return table.key
        return next((c for c, col in meta.columns.items() if c in allowed and not col.generated), None)

    def _spoofs(self, member: Member, aim: _Aim, actor: str) -> None:
        if not aim.own:
            return
        meta = self.model.table(aim.table.name)
        for column in self.model.user_columns(aim.table.name):
            own, spoof = aim.plans.get("self"), aim.plans.get(f"spoof:{column}")
            if own is not None and spoof is not None and self._granted(aim.table, "INSERT"):
                if isinstance(own, str) or isinstance(spoof, str):
                    reason = own if isinstance(own, str) else spoof
                    self._add(
                        "spoof_insert", aim.table, actor, None, INCONCLUSIVE, f"{column}: cannot build a row: {reason}"
                    )
                else:
                    self._spoofed("spoof_insert", aim, column, actor, self._write_row(own), self._write_row(spoof))
            updatable = column in meta.updatable_columns.get(self.model.member_role, frozenset())
            if updatable and aim.outsider and not _allowed(self._allow, aim.table.name, column, "update"):
                type_ = meta.columns[column].type
                control = self._set_current(aim, column, type_, member.user_id)
                self._spoofed(
                    "spoof_update", aim, column, actor, control, self._set_current(aim, column, type_, aim.outsider)
                )

    def _spoofed(self, op: str, aim: _Aim, column: str, actor: str, control: Attempt, result: Attempt) -> None:
        if result.touched:
            verb = "wrote a row with" if op == "spoof_insert" else "set its row's"
            self._add(op, aim.table, actor, None, LEAK, f"{verb} {column} = another user ({aim.outsider})")
        elif not control.touched:
            detail = f"{column}: positive control failed: the member's own version of the row: {control}"
            self._add(op, aim.table, actor, None, INCONCLUSIVE, detail)
        else:
            self._add(op, aim.table, actor, None, OK, f"{column} = another user: {result.how_rejected}")

    # -- anon ----------------------------------------------------------------------------

    def _anon(self) -> None:
        if self.model.anon_role is None:
            return
        with self.conn.transaction(force_rollback=True):
            self._begin()
            aims: list[tuple[TenantTable, list[str], Plan | None]] = []
            for table in self.model.tenant_tables:
                rows = self.conn.execute(
                    sql.SQL("select ctid::text, to_jsonb(t) from {} t limit 2").format(table.name.ident)
                ).fetchall()
                plan: Plan | None = None
                if self.writes and rows and not table.is_tenant_table:
                    try:
                        template = rows[0][1]
                        plan = plan_row(
                            self.conn, self.model, table, template, tenant=str(template[table.key]), actor=None,
                            outsider=self._outsider([str(template[table.key])]),
                        )  # fmt: skip
                    except RowError as exc:
                        plan = str(exc)
                aims.append((table, [r[0] for r in rows], plan))
            self.impersonator.anon(self.conn)
            for table, ctids, plan in aims:
                self._anon_table(table, ctids, plan)

    def _anon_table(self, table: TenantTable, ctids: list[str], plan: Plan | None) -> None:
        t = table.name.ident
        if not ctids:
            self._add("anon_select", table, "anon", None, INCONCLUSIVE, "the table is empty")
            return
        got = self._run(sql.SQL("select count(*) from {}").format(t), (), fetch=True)
        if isinstance(got, Attempt):
            self._add("anon_select", table, "anon", None, OK, f"read {got.how_rejected}")
        else:
            self._add("anon_select", table, "anon", None, LEAK if got[0] else OK, f"saw {got[0]} row(s)")
        if not self.writes:
            return
        key = sql.Identifier(table.key)
        statements: list[tuple[str, sql.Composed]] = [
            ("anon_update", sql.SQL("update {} set {k} = {k} where ctid = any(%s::tid[])").format(t, k=key)),
            ("anon_delete", sql.SQL("delete from {} where ctid = any(%s::tid[])").format(t)),
        ]
        for op, stmt in statements:
            result = self._attempt(stmt, (ctids,))
            detail = f"touched {result.rows} row(s)" if result.touched else result.how_rejected
            self._add(op, table, "anon", None, LEAK if result.touched else OK, detail)
        if isinstance(plan, RowPlan):
            result = self._write_row(plan)
            detail = "wrote a row" if result.touched else result.how_rejected
            self._add("anon_insert", table, "anon", None, LEAK if result.touched else OK, detail)
        elif isinstance(plan, str):
            self._add("anon_insert", table, "anon", None, INCONCLUSIVE, f"cannot build a row: {plan}")


def run_probes(conn: psycopg.Connection[Any], model: TenancyModel, members: list[Member], *, writes: bool) -> ProbeRun:
    return ProbeRunner(conn, model, writes=writes).probe(members)


def _allow_list(entries: tuple[str, ...]) -> set[tuple[QualifiedName, str, str | None]]:
    out = set()
    for entry in entries:
        target, _, op = entry.partition(":")
        table, _, column = target.rpartition(".")
        out.add((qualify(table), column, op or None))
    return out


def _allowed(allow: set[tuple[QualifiedName, str, str | None]], table: QualifiedName, column: str, op: str) -> bool:
    return (table, column, None) in allow or (table, column, op) in allow
