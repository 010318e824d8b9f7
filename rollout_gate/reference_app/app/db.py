"""Database access as the caller, the way Supabase's API layer does it.

The app logs in as `rg_app` (owns nothing, NOINHERIT) and every request runs in one transaction
that first switches role and claims with transaction-scoped settings:

    set local role authenticated;
    select set_config('request.jwt.claims', '{"sub": ..., "role": "authenticated", ...}', true);

so RLS sees the caller, and nothing survives the transaction on the pooled connection. The
service-role ("admin") client does the same with `service_role`, which bypasses RLS; the app uses
it only where the caller cannot see what the operation needs (password hashes, other members'
emails, an invitation the invitee is not yet a member for) and checks authorization itself first.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

Row = dict[str, Any]


@dataclass(frozen=True)
class Principal:
    """A signed-in user, as the verified token says."""

    user_id: uuid.UUID
    email: str


Statement = tuple[sql.Composed | sql.SQL, tuple[Any, ...]]


def identity_statements(role: str, claims: dict[str, Any], *, local: bool) -> list[Statement]:
    """The statements that make the transaction act as `role` with `claims`.

    `local=False` (session-level SET) would leak the identity to the next request that gets the
    same pooled connection: that is a bug to rehearse, never a mode to run in.
    """
    scope = sql.SQL("set local role {}") if local else sql.SQL("set role {}")
    return [
        (scope.format(sql.Identifier(role)), ()),
        (sql.SQL("select set_config('request.jwt.claims', %s, %s)"), (json.dumps(claims), local)),
    ]


class Database:
    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.dsn = dsn
        self.pool = AsyncConnectionPool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            open=False,
            kwargs={"autocommit": False, "row_factory": dict_row},
            name="reference-app",
        )
        # Transaction-scoped identity; the `session_level_set` fault flag flips exactly this.
        self.local_identity = True
        self._shared: AsyncConnection[Any] | None = None

    async def open(self) -> None:
        await self.pool.open(wait=True, timeout=30)

    async def close(self) -> None:
        if self._shared is not None:
            await self._shared.close()
        await self.pool.close()

    @asynccontextmanager
    async def _as(self, role: str, claims: dict[str, Any]) -> AsyncIterator[Tx]:
        if not self.local_identity:
            async with self._session_level(role, claims) as tx:
                yield tx
            return
        async with self.pool.connection() as conn, conn.transaction():
            for statement, params in identity_statements(role, claims, local=True):
                await conn.execute(statement, params)
            yield Tx(conn)

    @asynccontextmanager
    async def _session_level(self, role: str, claims: dict[str, Any]) -> AsyncIterator[Tx]:
        """The bug the `session_level_set` flag rehearses: SET (not SET LOCAL) on a connection every
        request shares, with no transaction around the request. Between one request's SET and its
        query, another request's SET can run: the query then acts as someone else."""
        if self._shared is None:
            self._shared = await AsyncConnection.connect(self.dsn, autocommit=True, row_factory=dict_row)
        for statement, params in identity_statements(role, claims, local=False):
            await self._shared.execute(statement, params)
        yield Tx(self._shared)

    def as_user(self, principal: Principal) -> Any:
        """A transaction acting as the signed-in user: RLS applies."""
        claims = {"sub": str(principal.user_id), "role": "authenticated", "email": principal.email}
        return self._as("authenticated", claims)

    def as_anon(self) -> Any:
        return self._as("anon", {"role": "anon"})

    def as_service(self) -> Any:
        """The admin client: bypasses RLS. Callers check authorization before using it."""
        return self._as("service_role", {"role": "service_role"})


class Tx:
    """One transaction with convenience queries returning dict rows."""

    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self.conn = conn

    async def all(self, query: str, params: Any = ()) -> list[Row]:
        cur = await self.conn.execute(query, params)  # type: ignore[arg-type]
        return list(await cur.fetchall())

    async def one(self, query: str, params: Any = ()) -> Row | None:
        cur = await self.conn.execute(query, params)  # type: ignore[arg-type]
        return await cur.fetchone()

    async def value(self, query: str, params: Any = ()) -> Any:
        row = await self.one(query, params)
        return None if row is None else next(iter(row.values()))

    async def run(self, query: str, params: Any = ()) -> int:
        cur = await self.conn.execute(query, params)  # type: ignore[arg-type]
        return cur.rowcount
