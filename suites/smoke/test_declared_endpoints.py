"""Smoke checks declared in the environment file (`smoke.endpoints`): a team's own API, no Python needed."""

from __future__ import annotations

import pytest

from rollout_gate.api.reference import ReferenceApi
from rollout_gate.pytest.declared import declared_params, run_declared
from rollout_gate.smoke.config import SmokeEndpoint

pytestmark = [pytest.mark.smoke, pytest.mark.criterion("smoke")]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "declared_endpoint" in metafunc.fixturenames:
        metafunc.parametrize("declared_endpoint", declared_params(metafunc.config))


def test_declared_endpoint(
    declared_endpoint: SmokeEndpoint, rollout_api: ReferenceApi, request: pytest.FixtureRequest
) -> None:
    problems = run_declared(declared_endpoint, rollout_api, request)
    assert not problems, "\n".join(problems)
