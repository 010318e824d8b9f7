"""Real endpoints for the sign-in self-tests: the reference app (deployed on a local target) and a small
identity provider on loopback (tests/auth/idp.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rollout_gate.local.target import LocalTarget
from rollout_gate.phases import Phase
from rollout_gate.reference_app.seed import SEED_PASSWORD
from tests.auth.idp import Idp, running_idp
from tests.provisioning.local_targets import local_target

SEEDED_USER = "user1@example.test"
IDP_USER, IDP_PASSWORD = "ada@idp.test", "idp-pass-" + "7c1e93"


@pytest.fixture(scope="session")
def reference_target() -> Iterator[LocalTarget]:
    """A local target of its own with the reference app deployed (seeded users, password SEED_PASSWORD)."""
    with local_target("auth", deploy=True) as target:
        target.advance_to(Phase.POST_DEPLOY)
        yield target


@pytest.fixture(scope="session")
def reference_app_url(reference_target: LocalTarget) -> str:
    """The reference app's base URL."""
    assert reference_target.base_url
    return reference_target.base_url


@pytest.fixture(scope="session")
def idp() -> Iterator[Idp]:
    """The loopback identity provider, with one user and the reference app's seeded user (same password)."""
    with running_idp({IDP_USER: IDP_PASSWORD, SEEDED_USER: SEED_PASSWORD}) as provider:
        yield provider
