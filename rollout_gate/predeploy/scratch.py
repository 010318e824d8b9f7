"""Throwaway databases on the scratch server: named after the run, always dropped.

The scratch server is the one the environment names (`predeploy.scratch.server_url`), or the
local environment's embedded cluster. Where the environment forbids writes, a scratch server
that is the target's own server is refused: creating a database there is a write to it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from psycopg import sql

from rollout_gate.errors import HarnessError
from rollout_gate.predeploy import pgtools
from rollout_gate.run import RunContext

PREFIX = "rg_scratch_"


class ScratchRefused(HarnessError):
    """The configured scratch server may not be used (it is the target's server)."""


@dataclass(frozen=True)
class ScratchServer:
    admin_dsn: str  # a maintenance database on the scratch server
    run: RunContext
    connect_timeout: float = 10

    @classmethod
    def checked(
        cls, admin_dsn: str, run: RunContext, *, target_dsn: str, allow_writes: bool, is_local: bool, timeout: float
    ) -> ScratchServer:
        """The scratch server, unless it is the target's server and the target must not be written."""
        if not is_local and not allow_writes and pgtools.server_of(admin_dsn) == pgtools.server_of(target_dsn):
            host, port = pgtools.server_of(admin_dsn)
            raise ScratchRefused(
                f"predeploy.scratch.server_url points at the target's server ({host}:{port}) and this environment "
                "forbids writes (safety.allow_writes: false): name a separate scratch server"
            )
        return cls(admin_dsn, run, timeout)

    def name(self, purpose: str) -> str:
        raw = f"{PREFIX}{self.run.run_id}_{self.run.worker_id}_{purpose}"
        return re.sub(r"[^a-z0-9_]", "_", raw.lower())[:63]

    def dsn(self, dbname: str) -> str:
        return pgtools.with_dbname(self.admin_dsn, dbname)

    @contextlib.contextmanager
    def database(self, purpose: str, *, template: str | None = None) -> Iterator[str]:
        """Create an empty (or template-copied) scratch database, yield its DSN, drop it whatever happens."""
        name = self.name(purpose)
        self.drop(name)  # a leftover of a killed earlier attempt of this very run
        with pgtools.connect(self.admin_dsn, timeout=self.connect_timeout) as conn:
            if template:
                # FILE_COPY (PostgreSQL 15+) copies the files instead of WAL-logging every block.
                strategy = sql.SQL(" strategy file_copy" if pgtools.server_major(conn) >= 15 else "")
                conn.execute(
                    sql.SQL("create database {} template {}{}").format(
                        sql.Identifier(name), sql.Identifier(template), strategy
                    )
                )
            else:
                conn.execute(sql.SQL("create database {} template template0").format(sql.Identifier(name)))
        try:
            yield self.dsn(name)
        finally:
            self.drop(name)

    def drop(self, name: str) -> None:
        if not name.startswith(PREFIX):
            raise ScratchRefused(f"refusing to drop {name!r}: not a scratch database")
        with pgtools.connect(self.admin_dsn, timeout=self.connect_timeout) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
