"""Pytest glue for `invariants.http`: one criterion per declared check, one test feeding each.

The criteria come from the environment file (`pytest_rollout_criteria`); without checks declared the shipped
module is not collected at all (there is no criterion it could feed, so nothing is listed or skipped).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rollout_gate.api.client import ApiClient, Session
from rollout_gate.config import Environment
from rollout_gate.criteria.models import CriterionSpec
from rollout_gate.invariants_http.check import Verdict, fetch, judge
from rollout_gate.invariants_http.config import InvariantCheck, InvariantEndpoint
from rollout_gate.invariants_http.criteria import criterion_specs
from rollout_gate.pytest.stash import session_key

MODULE = "test_http_invariants.py"
# The endpoint's answer per (endpoint index): every check of one endpoint judges the same answer.
_answers_key = pytest.StashKey[dict[int, "dict[str, Any] | str"]]()


@pytest.hookimpl
def pytest_rollout_criteria(config: pytest.Config, environment: Environment) -> list[CriterionSpec]:
    return criterion_specs(environment)


@pytest.hookimpl
def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.name != MODULE:
        return None
    rollout = config.stash.get(session_key, None)
    return True if rollout is None or not rollout.loaded.env.invariants.http else None


def params(config: pytest.Config) -> list[Any]:
    """One param per declared check, feeding the criterion of its own id."""
    rollout = config.stash.get(session_key, None)
    endpoints = rollout.loaded.env.invariants.http if rollout is not None else ()
    return [
        pytest.param((index, check), id=check.id, marks=[pytest.mark.criterion(check.id)])
        for index, endpoint in enumerate(endpoints)
        for check in endpoint.checks
    ]


def run_check(
    index: int, check: InvariantCheck, env: Environment, client: ApiClient, request: pytest.FixtureRequest
) -> Verdict:
    endpoint: InvariantEndpoint = env.invariants.http[index]
    answers = request.config.stash.setdefault(_answers_key, {})
    if index not in answers:
        session: Session | None = None
        if endpoint.auth == "existing_user":
            session = request.getfixturevalue("rollout_existing_session")
        answers[index] = fetch(client, endpoint, session)
    answer = answers[index]
    if isinstance(answer, str):
        return Verdict(None, f"{check.id}: {check.expr}: no numbers from the endpoint: {answer}")
    return judge(check, endpoint, answer)
