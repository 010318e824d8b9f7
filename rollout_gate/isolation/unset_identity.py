"""The unset identity: the member role with no caller identity sees no tenant row.

Two states, each in its own rolled-back savepoint, for every tenant table:

- `unset_select`: the identity settings (`request.jwt.claims` and the per-claim settings, or the
  `setting` of setting mode) are ABSENT: `current_setting(name, true)` is NULL, as in a session that
  never served a signed-in request. A policy `COALESCE(current_setting('app.tenant', true)::int, id)`
  shows every row here: a leak.
- `empty_select`: the same settings set to `''`, which is what they read in a pooled session that
  served someone earlier (PostgreSQL never forgets a setting once a session set it).

Judging: a row visible is a leak. An error that rejects the statement (a cast of `''`, a helper that
raises, no privilege) shows nothing, so it is `ok`, with the error as the detail; an error that only
stopped the probe (a timeout, a read-only transaction, anything else) is `inconclusive`, as is an
empty table (nothing to see) and a session in which the settings are already defined (the absent
state cannot be made there: probe on a connection that impersonated no one yet).

Only reads: in a transaction of its own it is READ ONLY; inside the caller's transaction it adds
savepoints only, all rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from rollout_gate.catalog.tenancy import TenancyModel, TenantTable
from rollout_gate.isolation.impersonation import Impersonator, PreRequestError
from rollout_gate.isolation.results import INCONCLUSIVE, LEAK, OK, ProbeResult

UNSET, EMPTY = "unset_select", "empty_select"
UNSET_OPS = (UNSET, EMPTY)
# SQLSTATE classes of errors that reject a statement for what the caller is (or is not):
# 22 data exception (a cast of ''), 28 invalid authorization, 42 access rule / undefined object
# (no privilege, unrecognized setting), P0 raised by PL/pgSQL, 0P invalid role.
_REJECTING = ("22", "28", "42", "P0", "0P")
# A fail-open policy can show millions of rows: count up to this many.
_COUNT_LIMIT = 1000


@dataclass(frozen=True)
class _Seen:
    rows: int | None
    tenants: tuple[str, ...] = ()
    sqlstate: str | None = None
    error: str = ""


def probe_unset_identity(conn: psycopg.Connection[Any], model: TenancyModel) -> list[ProbeResult]:
    """Probe every tenant table as the member role without identity (absent, then empty settings)."""
    impersonator = Impersonator(model.config.impersonation)
    own_transaction = conn.info.transaction_status == TransactionStatus.IDLE
    results: list[ProbeResult] = []
    with conn.transaction(force_rollback=True):
        if own_transaction:
            conn.execute("set transaction read only")
        populated = [(t, _has_rows(conn, t)) for t in model.tenant_tables]
        defined = _defined(conn, impersonator.identity_settings())
        for op, empty in ((UNSET, False), (EMPTY, True)):
            if op == UNSET and defined:
                why = (
                    f"the identity settings cannot be left absent: {', '.join(defined)} already defined in this "
                    "database session (it reads '' from then on); probe on a connection that impersonated no one"
                )
                results += [_result(model, op, t, INCONCLUSIVE, why) for t, _ in populated]
                continue
            results += _state(conn, model, impersonator, populated, op, empty)
    return results


def _state(
    conn: psycopg.Connection[Any],
    model: TenancyModel,
    impersonator: Impersonator,
    populated: list[tuple[TenantTable, bool]],
    op: str,
    empty: bool,
) -> list[ProbeResult]:
    out = []
    with conn.transaction(force_rollback=True):
        try:
            impersonator.unset(conn, empty=empty)
        except PreRequestError as exc:
            # PostgREST stops the request here: no query of it runs.
            status = OK if _rejects(exc.sqlstate) else INCONCLUSIVE
            detail = f"rejected by {exc.function} (the pre-request function): {exc.sqlstate}: {exc.message}"
            return [_result(model, op, t, status, detail) for t, _ in populated]
        for table, has_rows in populated:
            out.append(_judge(model, op, table, has_rows, _look(conn, table)))
    return out


def _judge(model: TenancyModel, op: str, table: TenantTable, has_rows: bool, seen: _Seen) -> ProbeResult:
    if seen.rows:
        shown = f"{seen.rows}+" if seen.rows > _COUNT_LIMIT else str(seen.rows)
        tenants = f" (tenants {', '.join(seen.tenants)})" if seen.tenants else ""
        return _result(model, op, table, LEAK, f"saw {shown} row(s){tenants} without any identity")
    if seen.rows is None:
        error = f"{seen.sqlstate}: {seen.error}"
        if not _rejects(seen.sqlstate):
            return _result(model, op, table, INCONCLUSIVE, f"the probe did not finish ({error})")
        privileges = model.table(table.name).privileges.get(model.member_role, frozenset())
        if seen.sqlstate == "42501" and "SELECT" not in privileges:
            return _result(model, op, table, OK, f"not granted to {model.member_role}")
        return _result(model, op, table, OK, f"rejected with an error, nothing visible ({error})")
    if not has_rows:
        return _result(model, op, table, INCONCLUSIVE, "the table is empty: nothing to see")
    return _result(model, op, table, OK, "saw no row")


def _look(conn: psycopg.Connection[Any], table: TenantTable) -> _Seen:
    t = table.name.ident
    try:
        with conn.transaction(force_rollback=True):
            row = conn.execute(
                sql.SQL("select count(*) from (select 1 from {} limit %s) s").format(t), (_COUNT_LIMIT + 1,)
            ).fetchone()
    except psycopg.Error as exc:
        return _Seen(None, sqlstate=exc.sqlstate, error=_message(exc))
    rows = int(row[0]) if row else 0
    if not rows:
        return _Seen(0)
    try:
        with conn.transaction(force_rollback=True):
            got = conn.execute(
                sql.SQL("select array_agg(k order by k) from (select distinct {}::text as k from {} limit 3) s").format(
                    sql.Identifier(table.key), t
                )
            ).fetchone()
    except psycopg.Error:
        got = None  # the tenant key is not readable: the row count alone is the finding
    return _Seen(rows, tuple(got[0] or ()) if got else ())


def _has_rows(conn: psycopg.Connection[Any], table: TenantTable) -> bool:
    row = conn.execute(sql.SQL("select exists (select 1 from {})").format(table.name.ident)).fetchone()
    return bool(row and row[0])


def _defined(conn: psycopg.Connection[Any], names: list[str]) -> list[str]:
    row = conn.execute(
        "select coalesce(array_agg(n order by i), '{}') from unnest(%s::text[]) with ordinality u(n, i) "
        "where current_setting(n, true) is not null",
        (names,),
    ).fetchone()
    return list(row[0]) if row else []


def _rejects(sqlstate: str | None) -> bool:
    return sqlstate is not None and sqlstate.startswith(_REJECTING)


def _message(exc: psycopg.Error) -> str:
    return (exc.diag.message_primary or str(exc)).strip().splitlines()[0]


def _result(model: TenancyModel, op: str, table: TenantTable, status: str, detail: str) -> ProbeResult:
    role = model.member_role
    actor = f"{role} without identity ({'settings empty' if op == EMPTY else 'settings absent'})"
    policies = model.catalog.describe_policies(table.name, "SELECT", role) if status == LEAK else ""
    return ProbeResult(op, str(table.name), actor, None, status, detail, policies)
