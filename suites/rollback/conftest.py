"""Fixtures of the post-rollback suite: the old application version, once the target is rolled back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rollout_gate.api.client import ApiClient, Session
from rollout_gate.auth import SignInError
from rollout_gate.auth import sign_in as provider_sign_in
from rollout_gate.config import Environment
from rollout_gate.provisioning.existing import ExistingUser
from rollout_gate.pytest.session import RolloutSession
from rollout_gate.pytest.stash import session_key
from rollout_gate.target import Target

# The reference app's v1 API: only the local rehearsal serves it after a rollback. Elsewhere the old
# version's checks are the environment's `rollback.smoke.endpoints`; not collected, so never a skip.
REFERENCE_ONLY = "test_reference_v1_app.py"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.name != REFERENCE_ONLY:
        return None
    rollout = config.stash.get(session_key, None)
    return True if rollout is None or not rollout.loaded.env.is_local else None


@pytest.fixture
def rollout_old_version(
    rollout_target: Target, rollout_env: Environment, rollout_session: RolloutSession
) -> Iterator[ApiClient]:
    """A client of the old version after the rollback: `rollback.base_url`, else the target's base URL."""
    url = rollout_env.rollback.base_url or rollout_target.base_url
    if not url:
        where = rollout_session.loaded.path
        pytest.skip(f"inconclusive: {where}: set rollback.base_url (where the old version serves)")
    with ApiClient(url, timeout=rollout_env.api.timeout, on_secret=rollout_session.loaded.redact.add) as client:
        yield client


@pytest.fixture
def rollout_old_version_sign_in(rollout_env: Environment) -> Callable[[ApiClient, ExistingUser], Session]:
    """Sign a pre-migration user in to the old version; a refusal fails the test naming the user."""

    def sign_in(api: ApiClient, user: ExistingUser) -> Session:
        try:
            return provider_sign_in(rollout_env.target.auth, api, user.email, user.secret)
        except SignInError as exc:
            pytest.fail(f"pre-migration user {user.email} cannot sign in to the old version: {exc}", pytrace=False)

    return sign_in
