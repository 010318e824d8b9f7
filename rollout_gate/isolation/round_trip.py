"""Statements between a savepoint and its rollback, sent to the server as ONE round trip.

A `transaction(force_rollback=True)` costs a round trip for the savepoint, one per statement and one for
the rollback: about 3x the statement itself for the probes' small indexed statements. Here the whole
string goes at once over the simple protocol, values bound client-side by psycopg. The probe runner and
the role matrix both send their statements this way.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

_SAVEPOINT = "rg_probe"
_ROLLBACK = f"rollback to savepoint {_SAVEPOINT}; release savepoint {_SAVEPOINT}"
_WRAPPED = sql.SQL(f"savepoint {_SAVEPOINT}; {{}}; {_ROLLBACK}")


class RolledBack:
    """Runs statements on `conn` (inside its transaction) in a savepoint that is always rolled back."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self._cursor: psycopg.ClientCursor[Any] | None = None

    @property
    def cursor(self) -> psycopg.ClientCursor[Any]:
        """The client-side-binding cursor the statements go through (also for `mogrify`)."""
        if self._cursor is None or self._cursor.closed:
            self._cursor = psycopg.ClientCursor(self.conn)
        return self._cursor

    def execute(self, query: sql.Composable, params: Any = None) -> psycopg.ClientCursor[Any]:
        """`query` (one statement or several, `;`-separated) between the savepoint and its rollback. The
        cursor is left on the first statement's result (`nextset()` reaches the next ones). On an error the
        server skips the rest of the string, so the rollback is sent on its own and the error re-raised."""
        cur = self.cursor
        try:
            cur.execute(_WRAPPED.format(query), params)
        except psycopg.Error:
            if self.conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
                self.conn.execute(_ROLLBACK)
            raise
        cur.nextset()  # past the savepoint
        return cur
