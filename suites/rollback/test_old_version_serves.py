"""Runbook "Post-Rollback Actions: Verify all users can access application": the checks of the old version
declared in the environment file (`rollback.smoke.endpoints`), against `rollback.base_url` (default
`target.base_url`). None declared: inconclusive, never a pass.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rollout_gate.api.client import ApiClient, Session
from rollout_gate.provisioning.existing import ExistingUser
from rollout_gate.pytest.stash import session_key
from rollout_gate.smoke.config import SmokeEndpoint
from rollout_gate.smoke.runner import Resolver, run_endpoint

pytestmark = [pytest.mark.rollback, pytest.mark.criterion("rollback_app_serves")]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "old_version_endpoint" in metafunc.fixturenames:
        rollout = metafunc.config.stash.get(session_key, None)
        endpoints = rollout.loaded.env.rollback.smoke.endpoints if rollout is not None else ()
        if endpoints:
            metafunc.parametrize("old_version_endpoint", [pytest.param(e, id=e.name) for e in endpoints])
        else:
            skip = pytest.mark.skip(reason="inconclusive: no rollback.smoke.endpoints declared in the environment file")
            metafunc.parametrize("old_version_endpoint", [pytest.param(None, id="none-declared", marks=skip)])


def test_declared_old_version_endpoint(
    old_version_endpoint: SmokeEndpoint,
    rollout_old_version: ApiClient,
    rollout_old_version_sign_in: Callable[[ApiClient, ExistingUser], Session],
    rollout_existing_users: list[ExistingUser],
) -> None:
    session: Session | None = None
    if old_version_endpoint.auth == "existing_user":
        if not rollout_existing_users:
            pytest.skip("inconclusive: no pre-migration users: set target.auth.users_csv (email,password)")
        session = rollout_old_version_sign_in(rollout_old_version, rollout_existing_users[0])
    resolvers: dict[str, Resolver] = {"user_id": lambda s: s.user_id or "", "email": lambda s: s.email}
    try:
        problems = run_endpoint(rollout_old_version, old_version_endpoint, session, resolvers)
    except ValueError as exc:
        problems = [f"{old_version_endpoint.name}: {exc}"]
    assert not problems, "\n".join(problems)
