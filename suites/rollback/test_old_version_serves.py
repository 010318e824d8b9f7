"""Runbook "Post-Rollback Actions: Verify all users can access application": the old version serves them.

On the local rehearsal the old version is the reference app's v1 (its single-tenant API): pre-migration
users sign in and read back as many of their own rows as the baseline recorded for them. Any target
also runs the checks the environment file declares under `rollback.smoke.endpoints`, against
`rollback.base_url` (default `target.base_url`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rollout_gate.api.client import ApiClient, ApiError, Session, expect
from rollout_gate.config import Environment
from rollout_gate.integrity.baseline import UserCounts
from rollout_gate.integrity.fingerprint import BaselineError
from rollout_gate.provisioning.existing import ExistingUser
from rollout_gate.pytest.session import RolloutSession
from rollout_gate.pytest.stash import session_key
from rollout_gate.smoke.config import SmokeEndpoint
from rollout_gate.smoke.runner import Resolver, run_endpoint
from rollout_gate.target import Target

pytestmark = [pytest.mark.rollback, pytest.mark.criterion("rollback_app_serves")]

# The reference v1 API: resource -> the table its rows come from.
V1_RESOURCES = {"clients": "public.clients", "projects": "public.projects", "time-entries": "public.time_entries"}
PAGE = 500


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "old_version_endpoint" in metafunc.fixturenames:
        rollout = metafunc.config.stash.get(session_key, None)
        endpoints = rollout.loaded.env.rollback.smoke.endpoints if rollout is not None else ()
        if endpoints:
            metafunc.parametrize("old_version_endpoint", [pytest.param(e, id=e.name) for e in endpoints])
        else:
            skip = pytest.mark.skip(reason="inconclusive: no rollback.smoke.endpoints declared in the environment file")
            metafunc.parametrize("old_version_endpoint", [pytest.param(None, id="none-declared", marks=skip)])


@pytest.fixture
def old_version(
    rollout_target: Target, rollout_env: Environment, rollout_session: RolloutSession
) -> Iterator[ApiClient]:
    """A client of the old version, once the target is rolled back."""
    url = rollout_env.rollback.base_url or rollout_target.base_url
    if not url:
        where = rollout_session.loaded.path
        pytest.skip(f"inconclusive: {where}: set rollback.base_url (where the old version serves)")
    with ApiClient(url, timeout=rollout_env.api.timeout) as client:
        yield client


@pytest.fixture
def reference_v1(rollout_target: Target, old_version: ApiClient) -> ApiClient:
    """The old version, where it is the reference app's v1 (the local rehearsal runs it after rollback)."""
    if not rollout_target.rehearsal:
        pytest.skip("the reference v1 API checks run on the local rehearsal; declare yours in rollback.smoke.endpoints")
    return old_version


def sign_in(api: ApiClient, user: ExistingUser, env: Environment) -> Session:
    try:
        return api.sign_in(user.email, user.password, path=env.target.auth.sign_in_path)
    except ApiError as exc:
        pytest.fail(f"pre-migration user {user.email} cannot sign in to the old version: {exc}", pytrace=False)


def test_old_version_is_healthy(reference_v1: ApiClient) -> None:
    assert expect(reference_v1.request("GET", "/health"), 200) == {"status": "ok", "database": "ok"}
    assert reference_v1.request("GET", "/api/clients").status_code == 401, "the old version serves data unsigned"


def test_pre_migration_users_see_their_data(
    reference_v1: ApiClient,
    rollout_existing_users: list[ExistingUser],
    rollout_env: Environment,
    rollout_session: RolloutSession,
) -> None:
    """Each pre-migration user signs in and reads back exactly the rows the baseline counted as theirs."""
    path = rollout_session.baseline_path
    try:
        counts = UserCounts.from_baseline(path)
    except BaselineError as exc:
        pytest.skip(f"inconclusive: {exc}")
    if counts is None:
        pytest.skip(f"inconclusive: the baseline {path} holds no per-user row counts: take it again with this harness")
    users = [u for u in rollout_existing_users if counts.rows_of(u.email) is not None]
    if not users:
        pytest.skip(f"inconclusive: {path} records no row counts for the pre-migration users")
    problems: list[str] = []
    for user in users:
        session = sign_in(reference_v1, user, rollout_env)
        expected = counts.rows_of(user.email) or {}
        for resource, table in V1_RESOURCES.items():
            rows = _all_rows(reference_v1, session, resource)
            foreign = [r for r in rows if str(r.get("user_id")) != session.user_id]
            if foreign:
                problems.append(f"{user.email}: /api/{resource} returns {len(foreign)} row(s) of other users")
            wanted = expected.get(table, 0)
            if len(rows) != wanted:
                problems.append(f"{user.email}: /api/{resource} lists {len(rows)} row(s), the baseline {wanted}")
    assert sum(sum((counts.rows_of(u.email) or {}).values()) for u in users) > 0, "the baseline users own no rows"
    assert not problems, "the old version does not show pre-migration users their data:\n" + "\n".join(problems)


def test_declared_old_version_endpoint(
    old_version_endpoint: SmokeEndpoint,
    old_version: ApiClient,
    rollout_existing_users: list[ExistingUser],
    rollout_env: Environment,
) -> None:
    session: Session | None = None
    if old_version_endpoint.auth == "existing_user":
        if not rollout_existing_users:
            pytest.skip("inconclusive: no pre-migration users: set target.auth.users_csv (email,password)")
        session = sign_in(old_version, rollout_existing_users[0], rollout_env)
    resolvers: dict[str, Resolver] = {"user_id": lambda s: s.user_id or "", "email": lambda s: s.email}
    try:
        problems = run_endpoint(old_version, old_version_endpoint, session, resolvers)
    except ValueError as exc:
        problems = [f"{old_version_endpoint.name}: {exc}"]
    assert not problems, "\n".join(problems)


def _all_rows(api: ApiClient, session: Session, resource: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        page = expect(
            api.request("GET", f"/api/{resource}", token=session.token, params={"limit": PAGE, "offset": len(rows)}),
            200,
        )
        rows += page["items"]
        if len(page["items"]) < PAGE:
            if page.get("total") != len(rows):
                pytest.fail(f"/api/{resource}: total {page.get('total')} but {len(rows)} row(s) listed", pytrace=False)
            return rows
