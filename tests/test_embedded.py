"""The shared embedded server of the self-tests: a scope leaves the server as it found it, or says what it left."""

from __future__ import annotations

import psycopg
import pytest

from tests.embedded import EmbeddedServer, ServerStateLeak


def _names(server: EmbeddedServer, query: str) -> set[str]:
    with psycopg.connect(server.info.dsn(), autocommit=True) as conn:
        return {r[0] for r in conn.execute(query).fetchall()}  # type: ignore[arg-type]


def _databases(server: EmbeddedServer) -> set[str]:
    return _names(server, "select datname from pg_database")


def _roles(server: EmbeddedServer) -> set[str]:
    return _names(server, "select rolname from pg_roles")


def test_a_scope_drops_its_databases_and_roles_made_either_way(embedded_server: EmbeddedServer) -> None:
    databases, roles = _databases(embedded_server), _roles(embedded_server)
    with embedded_server.scope() as scope:
        made = scope.database("create table t (id int); insert into t values (1)", prefix="emb")
        copy = scope.database(name="emb_copy", template=made.rsplit("/", 1)[1])
        with psycopg.connect(copy) as conn:
            assert conn.execute("select id from t").fetchall() == [(1,)]
        with psycopg.connect(scope.dsn(), autocommit=True) as conn:
            # Made by the test's own statements, not through the helper; held by an open connection.
            conn.execute("create database emb_raw")
            conn.execute("create role emb_owner nologin; create role emb_login login in role emb_owner")
        held = psycopg.connect(scope.dsn("emb_raw"))
        with psycopg.connect(scope.dsn("emb_raw"), autocommit=True) as conn:
            conn.execute("create table owned (id int); alter table owned owner to emb_owner")
        assert {made.rsplit("/", 1)[1], "emb_copy", "emb_raw"} <= _databases(embedded_server)
    held.close()
    assert _databases(embedded_server) == databases
    assert _roles(embedded_server) == roles


def test_two_scopes_may_create_the_same_role_one_after_the_other(embedded_server: EmbeddedServer) -> None:
    for _ in range(2):
        with embedded_server.scope() as scope, psycopg.connect(scope.dsn(), autocommit=True) as conn:
            conn.execute("create role anon nologin noinherit")
    assert "anon" not in _roles(embedded_server)


@pytest.mark.parametrize(
    ("change", "undo", "named"),
    [
        ("alter system set work_mem = '7MB'", "alter system reset work_mem", "ALTER SYSTEM: work_mem = 7MB"),
        ("alter role postgres set work_mem = '7MB'", "alter role postgres reset work_mem", "*/postgres: work_mem=7MB"),
        ("alter role postgres connection limit 99", "alter role postgres connection limit -1", "role postgres"),
    ],
    ids=["alter_system", "role_setting", "role_attribute"],
)
def test_server_wide_state_a_drop_cannot_undo_fails_the_scope(
    embedded_server: EmbeddedServer, change: str, undo: str, named: str
) -> None:
    try:
        with (
            pytest.raises(ServerStateLeak) as leak,
            embedded_server.scope() as scope,
            psycopg.connect(scope.dsn(), autocommit=True) as conn,
        ):
            conn.execute(change)  # type: ignore[arg-type]
        message = str(leak.value)
        assert "\n" not in message and named in message, message
    finally:
        with psycopg.connect(embedded_server.info.dsn(), autocommit=True) as conn:
            conn.execute(undo)  # type: ignore[arg-type]
    with embedded_server.scope():  # undone: a clean scope again
        pass


def test_a_role_a_surviving_database_depends_on_fails_the_scope_naming_it(embedded_server: EmbeddedServer) -> None:
    try:
        with (
            pytest.raises(ServerStateLeak) as leak,
            embedded_server.scope() as scope,
            psycopg.connect(scope.dsn(), autocommit=True) as conn,
        ):
            # Owned by a role of the scope, in the maintenance database the scope does not drop.
            conn.execute("create role emb_keeper nologin; create table emb_kept (id int)")
            conn.execute("alter table emb_kept owner to emb_keeper")
        message = str(leak.value)
        assert "\n" not in message and "roles emb_keeper cannot be dropped" in message, message
    finally:
        with psycopg.connect(embedded_server.info.dsn(), autocommit=True) as conn:
            conn.execute("drop table if exists emb_kept; drop role if exists emb_keeper")


def test_every_scope_is_on_the_one_server_of_the_process(embedded_server: EmbeddedServer) -> None:
    info = embedded_server.info
    with embedded_server.scope() as first, embedded_server.scope() as second:
        assert first.info == second.info == info == embedded_server.info
