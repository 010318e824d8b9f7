"""`app_role_rls`: the application's own role is bound by RLS (not superuser, not BYPASSRLS, FORCE where it owns)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from rollout_gate.isolation.app_role import app_role_findings
from tests.embedded import EmbeddedServer
from tests.isolation import impersonation_db as db
from tests.isolation.impersonation_db import GROUPS_TENANCY, TICKETS_TENANCY, Server, tenancy


@pytest.fixture(scope="module")
def pg(embedded_server: EmbeddedServer) -> Iterator[Server]:
    with db.server(embedded_server) as running:
        yield running


def _findings(pg: Server, role: str, extra: str = "") -> list[str]:
    with psycopg.connect(pg.database("groups.sql", extra=extra), autocommit=True) as conn:
        return [str(f) for f in app_role_findings(conn, tenancy(conn, GROUPS_TENANCY), role)]


def test_a_plain_login_role_that_owns_nothing_passes(pg: Server) -> None:
    assert _findings(pg, "authenticator") == []


def test_a_superuser_application_role_fails(pg: Server) -> None:
    assert _findings(pg, "postgres") == [
        "application role postgres: is a superuser: row level security never applies to the application's connection"
    ]


def test_a_bypassrls_application_role_fails(pg: Server) -> None:
    found = _findings(pg, "app_bypass", "create role app_bypass login bypassrls")
    assert found == [
        "application role app_bypass: has BYPASSRLS: row level security never applies to the application's connection"
    ]


def test_an_application_role_owning_a_tenant_table_without_force_fails_naming_it(pg: Server) -> None:
    found = _findings(pg, "app_owner", "create role app_owner login; alter table public.notes owner to app_owner")
    assert found == [
        "public.notes: RLS is enabled but not forced and the application role app_owner owns it: the policies do "
        "not apply to the application's connection (ALTER TABLE public.notes FORCE ROW LEVEL SECURITY)"
    ]


def test_inheriting_the_owner_through_membership_counts_as_owning(pg: Server) -> None:
    extra = (
        "create role notes_owner nologin; alter table public.notes owner to notes_owner; "
        "create role app_member login in role notes_owner"
    )
    found = _findings(pg, "app_member", extra)
    assert len(found) == 1 and found[0].startswith("public.notes: "), found
    assert "the application role app_member inherits the rights of its owner notes_owner" in found[0]
    # NOINHERIT: a member that must SET ROLE explicitly does not act as the owner.
    noinherit = extra.replace("notes_owner", "owner2").replace("app_member login", "app_noinherit login noinherit")
    assert _findings(pg, "app_noinherit", noinherit) == []


def test_owning_a_table_whose_rls_is_forced_passes(pg: Server) -> None:
    extra = (
        "create role app_forced login; alter table public.notes owner to app_forced; "
        "alter table public.notes force row level security"
    )
    assert _findings(pg, "app_forced", extra) == []


def test_a_role_that_does_not_exist_fails(pg: Server) -> None:
    assert _findings(pg, "no_such_role") == ["target.app_role no_such_role: no such role on the target"]


def test_the_isolation_suite_fails_an_app_that_owns_its_tables_and_keeps_the_probes_clean(
    pg: Server, tmp_path: Path
) -> None:
    dsn = pg.database("tickets.sql", extra="alter table public.tickets owner to tickets_app")
    output, gate = db.harness(dsn, tmp_path, TICKETS_TENANCY, "tickets_app")
    found = db.criteria(gate)
    assert found["app_role_rls"]["status"] == "fail", output
    assert "public.tickets: RLS is enabled but not forced and the application role tickets_app owns it" in output
    # The fail-closed policies give no false alarm: the probes, with and without identity, pass.
    assert found["zero_cross_tenant_access"]["status"] == "pass", output
