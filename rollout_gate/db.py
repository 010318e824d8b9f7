"""Every database session the harness opens, bounded: nothing it does can wait forever.

`connect()` is the one way the harness opens a connection. Each session carries, as server
settings, `lock_timeout`, `statement_timeout` and `idle_in_transaction_session_timeout` from the
environment's `target.timeouts`, TCP keepalives and `tcp_user_timeout` (a vanished host), and a
connect timeout. A frozen server (SIGSTOP'd, hung storage) accepts TCP and cancels nothing, so the
client also bounds every wait for an answer: statement timeout + `answer_grace_s`, after which the
connection is closed and `DatabaseUnresponsive` raised.

A server-side timeout (a lock held by another session, a runaway statement) becomes
`DatabaseTimeout`: one line naming the setting to change, a harness error rather than a check
result, because the check could not look.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from rollout_gate.config.models import DatabaseTimeouts
from rollout_gate.target import TargetError

READ_ONLY_OPTION = "-c default_transaction_read_only=on"
DEFAULT_TIMEOUTS = DatabaseTimeouts()
# The sqlstates of a server-side timeout, and the `target.timeouts` key that sets each.
_TIMEOUT_KEYS = {
    "55P03": "lock_s",  # lock_not_available (lock_timeout)
    "57014": "statement_s",  # query_canceled (statement_timeout)
    "25P03": "idle_in_transaction_s",  # idle_in_transaction_session_timeout
}


class DatabaseTimeout(TargetError):
    """The server gave up on a statement (lock wait, statement or idle timeout); one line."""


class DatabaseUnresponsive(TargetError):
    """The server stopped answering (frozen, or the network path died); one line."""


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def session_options(timeouts: DatabaseTimeouts, *, statement_s: float | None = None, readonly: bool = False) -> str:
    """The libpq `options` string that makes the server enforce the timeouts from the first statement."""
    settings = {
        "lock_timeout": _ms(timeouts.lock_s),
        "statement_timeout": _ms(statement_s or timeouts.statement_s),
        "idle_in_transaction_session_timeout": _ms(timeouts.idle_in_transaction_s),
    }
    options = " ".join(f"-c {name}={value}" for name, value in settings.items())
    return f"{options} {READ_ONLY_OPTION}" if readonly else options


def with_options(dsn: str, options: str) -> str:
    """The DSN with `options` appended to any it already has."""
    params = conninfo_to_dict(dsn)
    params["options"] = f"{params.get('options') or ''} {options}".strip()
    return make_conninfo("", **params)


class BoundedConnection(psycopg.Connection[Any]):
    """A connection whose every wait for the server is bounded by its statement timeout plus a grace."""

    statement_s: float = DEFAULT_TIMEOUTS.statement_s
    grace_s: float = DEFAULT_TIMEOUTS.answer_grace_s
    timeouts: DatabaseTimeouts = DEFAULT_TIMEOUTS
    on_unresponsive: Callable[[str], None] | None = None

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        bound = self.statement_s + self.grace_s if timeout is None else timeout
        try:
            return super().wait(gen, interval=interval, timeout=bound)
        except errors._WaitTimeout:
            message = (
                f"target database did not answer within {bound:g}s (statement timeout + "
                "target.timeouts.answer_grace_s): the server is frozen or unreachable"
            )
            with contextlib.suppress(Exception):
                self.pgconn.finish()
            if self.on_unresponsive is not None:
                self.on_unresponsive(message)
            raise DatabaseUnresponsive(message) from None
        except psycopg.Error as exc:
            translated = _timeout_error(exc, self)
            if translated is None:
                raise
            raise translated from exc


def _timeout_error(exc: psycopg.Error, conn: BoundedConnection) -> DatabaseTimeout | None:
    key = _TIMEOUT_KEYS.get(exc.sqlstate or "")
    if key is None:
        return None
    seconds = conn.statement_s if key == "statement_s" else getattr(conn.timeouts, key)
    primary = (exc.diag.message_primary or str(exc)).strip().splitlines()[0]
    hint = " (another session holds a lock on a table this check reads)" if key == "lock_s" else ""
    return DatabaseTimeout(f"target database: {primary} after {seconds:g}s (target.timeouts.{key}){hint}")


def connect(
    dsn: str,
    *,
    timeouts: DatabaseTimeouts = DEFAULT_TIMEOUTS,
    connect_timeout: float = 10.0,
    readonly: bool = False,
    statement_s: float | None = None,
    autocommit: bool = True,
    on_unresponsive: Callable[[str], None] | None = None,
    **kwargs: Any,
) -> BoundedConnection:
    """Open a bounded session (see the module docstring); `statement_s` raises the statement timeout
    of this session only (whole-table scans pass `timeouts.scan_statement_s`)."""
    statement = statement_s or timeouts.statement_s
    conn = BoundedConnection.connect(
        with_options(dsn, session_options(timeouts, statement_s=statement, readonly=readonly)),
        autocommit=autocommit,
        # Whole seconds, and 0 would mean "wait forever".
        connect_timeout=max(1, round(connect_timeout)),
        keepalives=1,
        keepalives_idle=timeouts.keepalive_idle_s,
        keepalives_interval=timeouts.keepalive_interval_s,
        keepalives_count=timeouts.keepalive_count,
        tcp_user_timeout=_ms(timeouts.keepalive_idle_s + timeouts.keepalive_interval_s * timeouts.keepalive_count),
        **kwargs,
    )
    conn.statement_s = statement
    conn.grace_s = timeouts.answer_grace_s
    conn.timeouts = timeouts
    conn.on_unresponsive = on_unresponsive
    return conn


@contextlib.contextmanager
def scan_timeout(conn: psycopg.Connection[Any], seconds: float) -> Iterator[None]:
    """A larger statement timeout (server and client side) for whole-table scans, restored afterwards."""
    row = conn.execute("select current_setting('statement_timeout')").fetchone()
    previous = str(row[0]) if row else "0"
    conn.execute("select set_config('statement_timeout', %s, false)", (f"{_ms(seconds)}ms",))
    bounded = isinstance(conn, BoundedConnection)
    before = conn.statement_s if isinstance(conn, BoundedConnection) else 0.0
    if isinstance(conn, BoundedConnection):
        conn.statement_s = max(before, seconds)
    try:
        yield
    finally:
        if isinstance(conn, BoundedConnection):
            conn.statement_s = before
        if bounded and not conn.closed and not conn.broken:
            with contextlib.suppress(psycopg.Error, TargetError):
                conn.execute("select set_config('statement_timeout', %s, false)", (previous,))


# -- what the harness's login may do ---------------------------------------------------------

_ROLE_POWER = """
select current_user, r.rolsuper, r.rolbypassrls,
       (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and n.nspname = any(%s)
          and (has_table_privilege(c.oid, 'INSERT') or has_table_privilege(c.oid, 'UPDATE')
               or has_table_privilege(c.oid, 'DELETE') or has_table_privilege(c.oid, 'TRUNCATE')))::int
from pg_roles r where r.rolname = current_user
"""


@dataclass(frozen=True)
class RolePower:
    """The database role the harness logs in as, and how far it could write."""

    name: str
    superuser: bool
    bypassrls: bool
    writable_tables: int  # tables in the checked schemas it holds INSERT/UPDATE/DELETE/TRUNCATE on

    def describe(self) -> str:
        kind = "superuser" if self.superuser else "BYPASSRLS" if self.bypassrls else "subject to RLS"
        return f"{self.name} ({kind}; may write {self.writable_tables} table(s) in the checked schemas)"

    def findings(self, key: str) -> list[str]:
        """Why this login is more than a writes-forbidden run needs (warn level)."""
        if self.superuser:
            return [
                f"{key} logs in as {self.name}, a superuser, on a target that forbids writes: one mistake "
                "can change anything; use a BYPASSRLS role granted only pg_read_all_data"
            ]
        if self.bypassrls and self.writable_tables:
            return [
                f"{key} logs in as {self.name}, which bypasses RLS and may write {self.writable_tables} "
                "table(s) on a target that forbids writes; grant it read access only (pg_read_all_data)"
            ]
        return []


def role_power(conn: psycopg.Connection[Any], schemas: Sequence[str]) -> RolePower | None:
    row = conn.execute(_ROLE_POWER, (list(schemas),)).fetchone()
    if row is None:
        return None
    return RolePower(str(row[0]), bool(row[1]), bool(row[2]), int(row[3]))
