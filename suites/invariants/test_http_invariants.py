"""Runbook "organizations created = users migrated", for a target whose data is reachable only over HTTP.

Each check of `invariants.http` is its own criterion: the endpoint's numbers must satisfy the expression.
A field missing or not a number is inconclusive (never a pass); a false expression fails naming its values.
Collected only where the environment file declares checks (rollout_gate/pytest/invariants.py).
"""

from __future__ import annotations

import pytest

from rollout_gate.api.reference import ReferenceApi
from rollout_gate.config import Environment
from rollout_gate.invariants_http.config import InvariantCheck
from rollout_gate.invariants_http.criteria import PHASE
from rollout_gate.pytest.invariants import params, run_check

pytestmark = [pytest.mark.phase(PHASE)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "http_invariant" in metafunc.fixturenames:
        metafunc.parametrize("http_invariant", params(metafunc.config))


def test_http_invariant_holds(
    http_invariant: tuple[int, InvariantCheck],
    rollout_api: ReferenceApi,
    rollout_env: Environment,
    request: pytest.FixtureRequest,
) -> None:
    index, check = http_invariant
    verdict = run_check(index, check, rollout_env, rollout_api, request)
    if verdict.holds is None:
        pytest.skip(f"inconclusive: {verdict.message}")
    assert verdict.holds, verdict.message
    print(verdict.message)
