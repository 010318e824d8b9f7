"""Critical user flows in a real browser (criterion e2e_critical_flows): the flow classes plugins and
conftest files register through `pytest_rollout_e2e_flows`, one test each. Built in: the reference app's
four flows ([MDR] Manual Verification Steps: User Login Test, Team Functionality Test), registered only
where the environment says the target is the reference app. None registered for another app: not
applicable (as for the reference app's other built-in tests, target.app says so); a team registers its own.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

# Without the e2e extra this module is skipped; its criterion then has no test and is inconclusive.
pytest.importorskip("playwright", reason="the E2E suite needs pytest-playwright: pip install 'rollout-gate[e2e]'")

from rollout_gate.e2e.config import targets_reference_app
from rollout_gate.pytest.stash import session_key

pytestmark = [pytest.mark.e2e, pytest.mark.criterion("e2e_critical_flows")]

NOT_REFERENCE = (
    "no E2E flows registered (pytest_rollout_e2e_flows) and target.app is not reference (the environment file "
    "does not say the target is the reference app, whose flows are built in)"
)
NONE_REGISTERED = (
    "inconclusive: no E2E flows registered for this target: return your flow classes from the hook "
    "pytest_rollout_e2e_flows (the reference app's are built in), or disable e2e_critical_flows in the "
    "environment file"
)


def flow_name(flow: type) -> str:
    return str(getattr(flow, "name", None) or flow.__name__)


def flow_params(config: pytest.Config) -> list[Any]:
    rollout = config.stash.get(session_key, None)
    flows: list[type] = []
    if rollout is not None:
        for group in config.hook.pytest_rollout_e2e_flows(config=config, environment=rollout.loaded.env):
            flows.extend(group or ())
    if not flows:
        if rollout is not None and not targets_reference_app(rollout.loaded.env):
            # What the file says: not the reference app (whose flows are built in), and no flow of its own.
            mark = pytest.mark.not_applicable(NOT_REFERENCE)
        else:
            mark = pytest.mark.skip(reason=NONE_REGISTERED)
        return [pytest.param(None, id="none-registered", marks=mark)]
    names = [flow_name(f) for f in flows]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise pytest.UsageError(f"pytest_rollout_e2e_flows: flow names registered twice: {', '.join(duplicates)}")
    for flow in flows:
        if not callable(getattr(flow, "run", None)):
            raise pytest.UsageError(f"pytest_rollout_e2e_flows: {flow_name(flow)} has no run(self, <fixtures>) method")
    return [
        pytest.param(f, id=flow_name(f), marks=[pytest.mark.destructive] if getattr(f, "destructive", False) else [])
        for f in flows
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "e2e_flow" in metafunc.fixturenames:
        metafunc.parametrize("e2e_flow", flow_params(metafunc.config))


def test_flow(e2e_flow: type, request: pytest.FixtureRequest) -> None:
    flow = e2e_flow()
    fixtures = {name: request.getfixturevalue(name) for name in inspect.signature(flow.run).parameters}
    flow.run(**fixtures)
