"""The unset identity leaves the settings absent: a fail-open COALESCE policy is a leak, a fail-closed one is clean."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from rollout_gate.isolation.impersonation import Impersonator
from rollout_gate.isolation.results import INCONCLUSIVE, LEAK, OK, ProbeResult
from rollout_gate.isolation.unset_identity import EMPTY, UNSET, probe_unset_identity
from tests.embedded import EmbeddedServer
from tests.isolation import impersonation_db as db
from tests.isolation.impersonation_db import FAIL_OPEN, GROUPS_TENANCY, TICKETS_TENANCY, Server, tenancy


@pytest.fixture(scope="module")
def pg(embedded_server: EmbeddedServer) -> Iterator[Server]:
    with db.server(embedded_server) as running:
        yield running


def _by(results: list[ProbeResult]) -> dict[tuple[str, str], ProbeResult]:
    return {(r.op, r.table): r for r in results}


def test_a_coalesce_policy_that_opens_when_the_setting_is_unset_is_a_leak(pg: Server) -> None:
    with psycopg.connect(pg.database("tickets.sql", tenant_policy=FAIL_OPEN)) as conn:
        results = _by(probe_unset_identity(conn, tenancy(conn, TICKETS_TENANCY)))
    leak = results[(UNSET, "public.tenants")]
    assert (leak.status, leak.detail) == (LEAK, "saw 3 row(s) (tenants 1, 2, 3) without any identity"), leak
    assert "tenants_own" in leak.policies and "coalesce" in leak.policies.lower()
    assert leak.actor == "tickets_member without identity (settings absent)"
    # With the setting '' instead (what the harness used to do), the cast fails and the leak hides.
    empty = results[(EMPTY, "public.tenants")]
    assert empty.status == OK and "rejected with an error" in empty.detail and "22P02" in empty.detail, empty
    assert [r for r in results.values() if r.status == LEAK] == [leak]


def test_the_same_schema_with_a_fail_closed_policy_is_clean(pg: Server) -> None:
    with psycopg.connect(pg.database("tickets.sql")) as conn:
        results = probe_unset_identity(conn, tenancy(conn, TICKETS_TENANCY))
    assert {r.table for r in results} == {"public.tenants", "public.tenant_users", "public.tickets"}
    assert {(r.op, r.status, r.detail) for r in results if r.op == UNSET} == {(UNSET, OK, "saw no row")}
    # '' makes `''::int` raise: the statement is rejected (nothing visible), and the error is shown.
    empties = [r for r in results if r.op == EMPTY]
    assert all(r.status == OK and "22P02: invalid input syntax for type integer" in r.detail for r in empties)


def test_supabase_claims_absent_and_a_policy_that_opens_without_a_user(pg: Server) -> None:
    open_policy = "create policy notes_open on public.notes for select to authenticated using (auth.uid() is null)"
    with psycopg.connect(pg.database("groups.sql")) as conn:
        clean = probe_unset_identity(conn, tenancy(conn, GROUPS_TENANCY))
    with psycopg.connect(pg.database("groups.sql", extra=open_policy)) as conn:
        leaky = _by(probe_unset_identity(conn, tenancy(conn, GROUPS_TENANCY)))
    assert {r.status for r in clean} == {OK}, clean
    for op in (UNSET, EMPTY):
        assert leaky[(op, "public.notes")].status == LEAK, leaky
        assert "notes_open" in leaky[(op, "public.notes")].policies
    assert leaky[(UNSET, "public.groups")].status == OK


def test_a_session_that_already_set_the_settings_cannot_be_unset_and_says_so(pg: Server) -> None:
    with psycopg.connect(pg.database("tickets.sql", tenant_policy=FAIL_OPEN)) as conn:
        model = tenancy(conn, TICKETS_TENANCY)
        with conn.transaction(force_rollback=True):
            Impersonator(model.config.impersonation).member(conn, "1", "1")
        results = probe_unset_identity(conn, model)
    unset = [r for r in results if r.op == UNSET]
    assert unset and all(r.status == INCONCLUSIVE for r in unset), unset
    assert "app.current_tenant_id already defined in this database session" in unset[0].detail


def test_it_only_reads_a_pre_request_that_writes_cannot_and_the_probe_is_inconclusive(pg: Server) -> None:
    extra = """
        create table public.request_log (at timestamptz default now());
        grant insert on public.request_log to authenticated;
        create function public.log_request() returns void language sql
            as $$ insert into public.request_log default values $$;
        grant execute on function public.log_request() to authenticated;
    """
    with psycopg.connect(pg.database("groups.sql", extra=extra), autocommit=True) as conn:
        model = tenancy(conn, GROUPS_TENANCY, pre_request="public.log_request")
        results = probe_unset_identity(conn, model)
        assert conn.execute("select count(*) from public.request_log").fetchone() == (0,)
    assert {r.status for r in results} == {INCONCLUSIVE}, results
    assert "25006" in results[0].detail and "public.log_request" in results[0].detail


def test_a_pre_request_that_rejects_callers_without_identity_is_shown(pg: Server) -> None:
    extra = """
        create function public.require_user() returns void language plpgsql stable as $$
        begin if auth.uid() is null then raise exception 'sign in first' using errcode = '28000'; end if; end $$;
        grant execute on function public.require_user() to authenticated;
    """
    with psycopg.connect(pg.database("groups.sql", extra=extra)) as conn:
        results = probe_unset_identity(conn, tenancy(conn, GROUPS_TENANCY, pre_request="public.require_user"))
    assert {r.status for r in results} == {OK}
    assert results[0].detail == "rejected by public.require_user (the pre-request function): 28000: sign in first"


def test_the_isolation_suite_fails_the_fail_open_policy_and_lists_an_unset_app_role(pg: Server, tmp_path: Path) -> None:
    output, gate = db.harness(pg.database("tickets.sql", tenant_policy=FAIL_OPEN), tmp_path, TICKETS_TENANCY, None)
    found = db.criteria(gate)
    assert found["zero_cross_tenant_access"]["status"] == "fail", output
    assert "test_member_role_without_identity_sees_no_tenant_row" in output, output
    assert "public.tenants: UNSET_SELECT as tickets_member without identity (settings absent)" in output, output
    # gate.json says where: the table and the policy that let the caller without identity through.
    named = {(f["kind"], f["name"]) for f in found["zero_cross_tenant_access"]["findings"]}
    assert {("table", "public.tenants"), ("policy", "tenants_own")} <= named, named
    # No application role declared: listed as not applicable with the environment file's reason, never run.
    app_role = found["app_role_rls"]
    assert (app_role["reason"], app_role["required"]) == ("not applicable here: target.app_role is not set", False)
