"""Members are impersonated as the real stack does: full JWT claims, extra claims, the pre-request function."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from rollout_gate.config.models import ImpersonationConfig
from rollout_gate.isolation.impersonation import TOKEN_LIFETIME_S, Impersonator, PreRequestError
from tests.embedded import EmbeddedServer
from tests.isolation.impersonation_db import GROUPS_TENANCY, TICKETS_TENANCY, Server, criteria, harness, server

USER1, USER3 = "00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000003"
GROUP1 = "10000000-0000-0000-0000-000000000001"
SUPABASE = ImpersonationConfig(mode="supabase", role="authenticated", anon_role="anon")


@pytest.fixture(scope="module")
def pg(embedded_server: EmbeddedServer) -> Iterator[Server]:
    with server(embedded_server) as running:
        yield running


def _notes_groups(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute("select distinct group_id::text from public.notes order by 1").fetchall()]


def test_claims_carry_sub_role_aud_email_iat_exp_and_the_extra_claims(pg: Server) -> None:
    config = SUPABASE.model_copy(update={"extra_claims": {"app_metadata": {"org": "{tenant_id}", "plan": "pro"}}})
    with psycopg.connect(pg.database("groups.sql")) as conn:
        Impersonator(config).member(conn, USER1, GROUP1, "user1@example.test")
        claims, per_claim, now = conn.execute(
            "select current_setting('request.jwt.claims')::jsonb, array[current_setting('request.jwt.claim.sub'), "
            "current_setting('request.jwt.claim.role'), current_setting('request.jwt.claim.app_metadata')], "
            "extract(epoch from now())::bigint"
        ).fetchone()  # type: ignore[misc]
        assert conn.execute("select current_user").fetchone() == ("authenticated",)
    assert {k: claims[k] for k in ("sub", "role", "aud", "email")} == {
        "sub": USER1, "role": "authenticated", "aud": "authenticated", "email": "user1@example.test",
    }  # fmt: skip
    assert claims["exp"] - claims["iat"] == TOKEN_LIFETIME_S and abs(claims["iat"] - now) <= 1
    assert claims["app_metadata"] == {"org": GROUP1, "plan": "pro"}
    assert per_claim[:2] == [USER1, "authenticated"] and '"org": "' + GROUP1 in per_claim[2]


def test_extra_claims_cannot_replace_the_members_identity() -> None:
    with pytest.raises(ValueError, match="sub cannot be set here"):
        ImpersonationConfig(extra_claims={"sub": "someone-else"})


def test_a_claims_helper_that_requires_exp_accepts_the_member_as_the_real_stack_sends_it(pg: Server) -> None:
    with psycopg.connect(pg.database("groups.sql")) as conn:
        # The claims the harness used to send (no exp, no iat): the target's helper turns them away, so
        # every member probe was "denied", never conclusive.
        old = f'{{"sub": "{USER1}", "role": "authenticated", "aud": "authenticated"}}'
        rejected = pytest.raises(psycopg.errors.InvalidAuthorizationSpecification, match="exp and iat are required")
        with rejected, conn.transaction():
            conn.execute("set local role authenticated")
            conn.execute("select set_config('request.jwt.claims', %s, true)", (old,))
            conn.execute("select count(*) from public.notes")
        with conn.transaction(force_rollback=True):
            Impersonator(SUPABASE).member(conn, USER1, GROUP1, "user1@example.test")
            assert _notes_groups(conn) == [GROUP1]  # its own group's notes, and only those


def test_the_pre_request_function_runs_after_the_claims_and_a_rejection_is_reported(pg: Server) -> None:
    config = SUPABASE.model_copy(update={"pre_request": "public.check_request"})
    dsn = pg.database("groups.sql", extra=f"insert into public.blocked_users values ('{USER3}')")
    with psycopg.connect(dsn) as conn:
        with conn.transaction(force_rollback=True):
            Impersonator(config).member(conn, USER1, GROUP1)
            assert _notes_groups(conn) == [GROUP1]
        with conn.transaction(force_rollback=True):
            with pytest.raises(PreRequestError) as caught:
                Impersonator(config).member(conn, USER3, "", None)
            # The transaction stays usable (the call ran in a savepoint): the caller decides what to report.
            assert conn.execute("select current_user").fetchone() == ("authenticated",)
    assert str(caught.value) == (
        f"tenancy.impersonation.pre_request public.check_request rejected member {USER3}: "
        f"42501: user {USER3} is blocked"
    )


def test_setting_mode_sets_one_setting_and_anon_leaves_it_absent(pg: Server) -> None:
    config = ImpersonationConfig.model_validate(TICKETS_TENANCY["impersonation"])
    with psycopg.connect(pg.database("tickets.sql")) as conn, conn.transaction(force_rollback=True):
        Impersonator(config).member(conn, "3", "2")
        assert conn.execute("select current_setting('app.current_tenant_id')").fetchone() == ("2",)
        assert conn.execute("select distinct tenant_id from public.tickets").fetchall() == [(2,)]
    with psycopg.connect(pg.database("tickets.sql")) as fresh, fresh.transaction(force_rollback=True):
        assert Impersonator(config).anon(fresh)
        assert fresh.execute("select current_user, current_setting('app.current_tenant_id', true)").fetchone() == (
            "tickets_anon",
            None,
        )


def test_probes_on_a_schema_whose_helpers_require_exp_are_conclusive(pg: Server, tmp_path: Path) -> None:
    settings = {**GROUPS_TENANCY}
    settings["impersonation"] = {**GROUPS_TENANCY["impersonation"], "pre_request": "public.check_request"}
    output, gate = harness(pg.database("groups.sql"), tmp_path, settings, app_role="authenticator")
    found = criteria(gate)
    assert found["zero_cross_tenant_access"]["status"] == "pass", output
    assert found["app_role_rls"]["status"] == "pass", output
    assert "inconclusive" not in output.lower(), output
