"""One embedded PostgreSQL per pytest process (per xdist worker) for the self-tests, and scopes on it.

The session fixture `embedded_server` (tests/conftest.py) starts the server on first use and stops it at
session end. A test module (or a test) opens `scope()` and makes its databases there; when the scope ends,
the server is put back as the scope found it, so the next module sees what a server of its own would show:

- every database that appeared during the scope is dropped (`drop database ... with (force)`), whether it
  was made through `database()` or by a statement of the test itself;
- every role that appeared is dropped: roles are cluster-wide in PostgreSQL, and two modules creating
  `anon` or `app_owner` must not see each other's;
- server-wide state a drop cannot undo (ALTER SYSTEM, ALTER ROLE/DATABASE ... SET, attributes of a role
  that existed before) fails the scope's teardown, naming what changed, instead of leaking.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from rollout_gate.local.cluster import ClusterInfo, EmbeddedCluster
from rollout_gate.run import RunContext

_ROLES = """
select rolname, array[rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication,
                      rolbypassrls]::text || ' ' || rolconnlimit
from pg_roles
"""
# ALTER ROLE / ALTER DATABASE ... SET, and ALTER SYSTEM (postgresql.auto.conf).
_SETTINGS = """
select coalesce(d.datname, '*') || '/' || coalesce(r.rolname, '*') || ': ' || array_to_string(s.setconfig, ', ')
from pg_db_role_setting s left join pg_database d on d.oid = s.setdatabase left join pg_roles r on r.oid = s.setrole
union all
select 'ALTER SYSTEM: ' || name || ' = ' || coalesce(setting, '')
from pg_file_settings where sourcefile like '%postgresql.auto.conf'
"""


class ServerStateLeak(Exception):
    """A scope left server-wide state behind that dropping its databases and roles does not undo."""


@dataclass(frozen=True)
class _State:
    databases: frozenset[str]
    roles: dict[str, str]
    settings: frozenset[str]


def _state(conn: psycopg.Connection[Any]) -> _State:
    return _State(
        databases=frozenset(r[0] for r in conn.execute("select datname from pg_database").fetchall()),
        roles={r[0]: r[1] for r in conn.execute(_ROLES).fetchall()},
        settings=frozenset(r[0] for r in conn.execute(_SETTINGS).fetchall()),
    )


@dataclass
class Databases:
    """What one scope makes on the shared server; all of it is dropped when the scope ends."""

    info: ClusterInfo

    def dsn(self, name: str = "postgres") -> str:
        return self.info.dsn(name)

    def database(self, *scripts: str, name: str | None = None, prefix: str = "db", template: str | None = None) -> str:
        """A new database (`name`, or `prefix` and a random suffix), a copy of `template` when given, with
        `scripts` run in it in order; returns its DSN."""
        name = name or f"{prefix}_{secrets.token_hex(4)}"
        create = sql.SQL("create database {}").format(sql.Identifier(name))
        if template is not None:
            create = sql.SQL("create database {} template {}").format(sql.Identifier(name), sql.Identifier(template))
        with psycopg.connect(self.info.dsn(), autocommit=True) as conn:
            conn.execute(create)
        if scripts:
            with psycopg.connect(self.info.dsn(name), autocommit=True) as conn:
                for script in scripts:
                    conn.execute(script)  # type: ignore[arg-type]
        return self.info.dsn(name)


class EmbeddedServer:
    """This process's embedded PostgreSQL: started on first use, stopped by `stop()` (at session end)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._cluster: EmbeddedCluster | None = None
        self._info: ClusterInfo | None = None

    @property
    def info(self) -> ClusterInfo:
        if self._info is None:
            # A run id of this process's own: under xdist each worker gets its own server (and data dir).
            run = RunContext.new()
            self._cluster = EmbeddedCluster(self.state_dir, run.run_id, run.owner_pid)
            self._info = self._cluster.ensure_running()
        return self._info

    def stop(self) -> None:
        """Stop the server and delete its data; nothing when it never started."""
        if self._cluster is not None:
            self._cluster.stop()
        self._cluster = self._info = None

    @contextmanager
    def scope(self) -> Iterator[Databases]:
        """Databases for one module or test; the server is put back as it was when the scope ends."""
        with psycopg.connect(self.info.dsn(), autocommit=True) as conn:
            before = _state(conn)
        try:
            yield Databases(self.info)
        finally:
            self._restore(before)

    def _restore(self, before: _State) -> None:
        with psycopg.connect(self.info.dsn(), autocommit=True) as conn:
            now = _state(conn)
            for name in sorted(now.databases - before.databases):
                conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
            added = sorted(set(now.roles) - set(before.roles))
            if added:
                # One statement: roles granted to one another go together.
                try:
                    conn.execute(
                        sql.SQL("drop role if exists {}").format(sql.SQL(", ").join(map(sql.Identifier, added)))
                    )
                except psycopg.Error as exc:
                    detail = str(exc).splitlines()[0]
                    raise ServerStateLeak(f"the test's roles {', '.join(added)} cannot be dropped: {detail}") from None
            after = _state(conn)
        changed = sorted(r for r, attributes in before.roles.items() if after.roles.get(r, attributes) != attributes)
        settings = sorted(after.settings ^ before.settings)
        if changed or settings:
            what = [f"attributes of role {r}" for r in changed] + [f"setting {s}" for s in settings]
            raise ServerStateLeak(
                f"the test changed server-wide state on the shared embedded server: {'; '.join(what)}"
            )
