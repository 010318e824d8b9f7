"""Idempotency of the target's "ensure personal workspace" function (the runbook's lazy migration).

Sequential: inside one transaction that is always rolled back, create a throwaway user, call the
function twice, and for an existing user once: each call returns the same workspace and the user
ends up with exactly one personal workspace and one active owner membership. Nothing is committed,
but a rolled-back INSERT still fires the target's triggers, takes row and table locks and consumes
sequence values: where the environment forbids writes the check does not run at all (destructive).

Concurrent: racing calls can only be observed across committed transactions (uncommitted rows are
invisible to the other connections), so this check commits a throwaway user (named with the run's
prefix), has several connections call the function at the same instant, and deletes everything it
created in a `finally`. It runs only where the environment allows writes.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from rollout_gate import db
from rollout_gate.catalog.names import qualify
from rollout_gate.catalog.tenancy import TenancyModel
from rollout_gate.config.models import DatabaseTimeouts
from rollout_gate.errors import HarnessError
from rollout_gate.integrity import invariants
from rollout_gate.isolation.impersonation import Impersonator
from rollout_gate.isolation.rowgen import fresh_value

Conn = psycopg.Connection[Any]


@dataclass
class WorkspaceReport:
    user: str
    returned: list[str | None] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def create_user(conn: Conn, model: TenancyModel, prefix: str) -> str:
    """A minimal user: defaults and NULLs where allowed, fresh unique values, other required values copied."""
    meta = model.table(model.user_table)
    row = conn.execute(sql.SQL("select to_jsonb(u) from {} u limit 1").format(model.user_table.ident)).fetchone()
    template: dict[str, Any] = row[0] if row else {}
    values: dict[str, Any] = {}
    for name, column in meta.columns.items():
        if column.generated or (column.has_default and name not in meta.unique_key_columns):
            continue
        if name in meta.unique_key_columns:
            # Text keys (an email) carry the run's prefix, so a leftover is traceable to its run.
            text = column.type not in ("uuid", "bigint", "integer", "smallint")
            values[name] = f"{prefix}{uuid.uuid4().hex[:12]}@example.invalid" if text else fresh_value(conn, meta, name)
        elif column.not_null:
            values[name] = template.get(name)
    key = sql.Identifier(model.config.user_key)
    if values:
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in values)
        insert = sql.SQL(
            "insert into {t} ({cols}) select {cols} from jsonb_populate_record(null::{t}, %s::jsonb) "
            "returning {k}::text"
        ).format(t=model.user_table.ident, cols=cols, k=key)
        created = conn.execute(insert, (Jsonb(values),)).fetchone()
    else:
        insert = sql.SQL("insert into {} default values returning {}::text").format(model.user_table.ident, key)
        created = conn.execute(insert).fetchone()
    assert created is not None
    return str(created[0])


def call(conn: Conn, model: TenancyModel, user: str) -> str | None:
    """Call the function for `user` as the configured caller; returns what it returned, as text."""
    cfg = model.personal_workspace
    assert cfg is not None and cfg.function is not None
    fn = qualify(cfg.function)
    user_type = model.table(model.user_table).columns[model.config.user_key].type
    impersonator = Impersonator(model.config.impersonation)
    if cfg.call_as == "user":
        impersonator.member(conn, user, "", None)
    try:
        row = conn.execute(sql.SQL("select {}(%s::{})::text").format(fn.ident, sql.SQL(user_type)), (user,)).fetchone()
    finally:
        if cfg.call_as == "user":
            impersonator.admin(conn)
    return row[0] if row else None


def workspaces_of(conn: Conn, model: TenancyModel, user: str) -> tuple[int, int]:
    """(personal workspaces owned, active owner memberships of them) of `user`.

    Without an owner column to tell personal workspaces apart, every active owner membership of the
    user counts as one (then the user must own nothing else)."""
    m = model.config.membership
    source = invariants.personal_workspaces(model)
    personal_cfg = model.personal_workspace
    owner = personal_cfg.owner_column if personal_cfg is not None else None
    # The user goes in as a literal: a predicate from the environment file may hold a `%`.
    u = sql.Literal(user)
    mine = (
        sql.SQL("(select p.{} from {} p where p.{}::text = {})").format(
            sql.Identifier(model.config.tenant_table_key), source, sql.Identifier(owner), u
        )
        if source is not None and owner
        else None
    )
    personal = sql.SQL("(select count(*) from {} w)").format(mine) if mine is not None else sql.SQL("null::bigint")
    conditions = [
        sql.SQL("{}::text = {}").format(sql.Identifier(m.user_column), u),
        model.has_role(sql.Identifier(m.role_column), m.owner_role),
    ]
    if m.status_column:
        conditions.append(sql.SQL("{} = {}").format(sql.Identifier(m.status_column), sql.Literal(m.active_value)))
    if mine is not None:
        conditions.append(sql.SQL("{} in {}").format(sql.Identifier(m.tenant_column), mine))
    row = conn.execute(
        sql.SQL("select {}, (select count(*) from {} where {})").format(
            personal, model.membership_table.ident, sql.SQL(" and ").join(conditions)
        )
    ).fetchone()
    assert row is not None
    return (int(row[0]) if row[0] is not None else int(row[1]), int(row[1]))


def _expect_one(report: WorkspaceReport, conn: Conn, model: TenancyModel, label: str) -> None:
    personal, owners = workspaces_of(conn, model, report.user)
    if personal != 1:
        report.problems.append(f"{label}: user {report.user} has {personal} personal workspaces, expected exactly 1")
    if owners != 1:
        report.problems.append(f"{label}: user {report.user} has {owners} active owner memberships, expected exactly 1")
    distinct = {r for r in report.returned}
    if len(distinct) != 1 or None in distinct:
        report.problems.append(f"{label}: the calls returned different workspaces: {sorted(map(str, distinct))}")


def sequential(conn: Conn, model: TenancyModel, prefix: str) -> list[WorkspaceReport]:
    """Two calls for a new user and one for an existing user, in a transaction that is rolled back."""
    reports = []
    with conn.transaction(force_rollback=True):
        conn.execute("set local statement_timeout = '30s'")
        fresh = WorkspaceReport(create_user(conn, model, prefix))
        fresh.returned = [call(conn, model, fresh.user), call(conn, model, fresh.user)]
        _expect_one(fresh, conn, model, "called twice for a new user")
        reports.append(fresh)
        existing = _existing_user(conn, model)
        if existing is not None:
            before = _tenant_count(conn, model)
            report = WorkspaceReport(existing)
            report.returned = [call(conn, model, existing), call(conn, model, existing)]
            _expect_one(report, conn, model, "called for an existing user")
            if _tenant_count(conn, model) != before:
                report.problems.append(f"called for existing user {existing}: a new tenant row was created")
            reports.append(report)
    return reports


def concurrent(
    dsn: str,
    model: TenancyModel,
    prefix: str,
    callers: int,
    timeout: float = 30.0,
    *,
    timeouts: DatabaseTimeouts = db.DEFAULT_TIMEOUTS,
    connect_timeout: float = 10.0,
) -> WorkspaceReport:
    """`callers` connections call the function for one new user at the same instant, each committing."""
    with db.connect(dsn, timeouts=timeouts, connect_timeout=connect_timeout) as admin:
        report = WorkspaceReport(create_user(admin, model, prefix))
        try:
            barrier = threading.Barrier(callers, timeout=timeout)
            results: list[str | None] = [None] * callers
            errors: list[str] = []

            def worker(i: int) -> None:
                try:
                    with (
                        db.connect(dsn, timeouts=timeouts, connect_timeout=connect_timeout) as conn,
                        conn.transaction(),
                    ):
                        conn.execute("select set_config('statement_timeout', %s, true)", (f"{int(timeout)}s",))
                        barrier.wait()
                        results[i] = call(conn, model, report.user)
                except (psycopg.Error, HarnessError, threading.BrokenBarrierError) as exc:
                    lines = str(exc).strip().splitlines() or [""]
                    errors.append(f"caller {i}: {type(exc).__name__}: {lines[0]}")

            threads = [threading.Thread(target=worker, args=(i,)) for i in range(callers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout * 2)
            report.returned = list(results)
            report.problems += [f"{callers} concurrent calls: {e}" for e in errors]
            _expect_one(report, admin, model, f"{callers} concurrent calls for a new user")
        finally:
            _delete_user(admin, model, report.user)
    return report


def _existing_user(conn: Conn, model: TenancyModel) -> str | None:
    m = model.config.membership
    row = conn.execute(
        sql.SQL("select {}::text from {} where {} order by 1 limit 1").format(
            sql.Identifier(m.user_column),
            model.membership_table.ident,
            model.has_role(sql.Identifier(m.role_column), m.owner_role),
        )
    ).fetchone()
    return row[0] if row else None


def _tenant_count(conn: Conn, model: TenancyModel) -> int:
    row = conn.execute(sql.SQL("select count(*) from {}").format(model.tenant_table.ident)).fetchone()
    return int(row[0]) if row else 0


def _delete_user(conn: Conn, model: TenancyModel, user: str) -> None:
    """Remove the throwaway user and the workspace made for it, whatever the foreign keys cascade."""
    cfg, m = model.config, model.config.membership
    with conn.transaction():
        owned = conn.execute(
            sql.SQL("select {}::text from {} where {}::text = %s and {}").format(
                sql.Identifier(m.tenant_column),
                model.membership_table.ident,
                sql.Identifier(m.user_column),
                model.has_role(sql.Identifier(m.role_column), m.owner_role),
            ),
            (user,),
        ).fetchall()
        conn.execute(
            sql.SQL("delete from {} where {}::text = %s").format(
                model.membership_table.ident, sql.Identifier(m.user_column)
            ),
            (user,),
        )
        tenants = [r[0] for r in owned]
        if tenants:
            conn.execute(
                sql.SQL("delete from {} where {}::text = any(%s)").format(
                    model.tenant_table.ident, sql.Identifier(cfg.tenant_table_key)
                ),
                (tenants,),
            )
        conn.execute(
            sql.SQL("delete from {} where {}::text = %s").format(model.user_table.ident, sql.Identifier(cfg.user_key)),
            (user,),
        )


def function_exists(conn: Conn, name: str) -> bool:
    fn = qualify(name)
    row = conn.execute(
        "select exists (select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
        "where n.nspname = %s and p.proname = %s)",
        (fn.schema, fn.name),
    ).fetchone()
    return bool(row and row[0])
