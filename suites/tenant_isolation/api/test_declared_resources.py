"""Runbook: "Verify users can access their own data only" — for the resources the environment file declares.

For each resource in `api.resources`, tenant B's user tries to read, list, update, delete, create into A,
and spoof A's tenant header or path, against an item of tenant A: every attempt must be refused and A
must read back its item unchanged. Write attempts are listed not applicable where writes are forbidden.
"""

from __future__ import annotations

from typing import Any

import pytest

from rollout_gate.api.resources import ATTEMPTS, Attempt, ResourceProbes, not_applicable
from rollout_gate.config import Environment
from rollout_gate.pytest.stash import session_key

pytestmark = [
    pytest.mark.isolation,
    pytest.mark.phase("post-deploy"),
    pytest.mark.criterion("zero_cross_tenant_access"),
]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "declared_attempt" not in metafunc.fixturenames:
        return
    rollout = metafunc.config.stash.get(session_key, None)
    resources = rollout.loaded.env.api.resources if rollout is not None else ()
    params: list[Any] = []
    for resource in resources:
        for attempt in ATTEMPTS:
            marks = [pytest.mark.destructive] if attempt.writes else []
            reason = not_applicable(resource, attempt)
            if reason is not None:
                marks.append(pytest.mark.not_applicable(reason))
            params.append(pytest.param((resource.name, attempt), id=f"{resource.name}-{attempt.name}", marks=marks))
    if not params:
        none = pytest.mark.not_applicable("no api.resources declared in the environment file")
        params = [pytest.param(None, id="none-declared", marks=none)]
    metafunc.parametrize("declared_attempt", params)


def test_declared_resource_refuses_the_other_tenant(
    declared_attempt: tuple[str, Attempt],
    rollout_declared_probes: dict[str, ResourceProbes],
    rollout_env: Environment,
) -> None:
    name, attempt = declared_attempt
    probes = rollout_declared_probes[name]
    try:
        item = probes.own_item(writes=rollout_env.safety.allow_writes)
    except ValueError as exc:
        pytest.fail(str(exc), pytrace=False)
    if item is None:
        pytest.skip(f"{name}: tenant A has no item to probe, and {rollout_env.name} forbids creating one")
    problems = probes.attempt(attempt.name, item)
    assert not problems, "\n".join(problems)
