"""Declared routes (`e2e.routes`) in a real browser: each loads within its budget (criterion page_load_time)
and without console errors, failed requests or 5xx responses (criterion browser_errors).

[MDR] Performance Metrics: Page load times < 3s; [MRC] Deploy Frontend, Validation: All routes load, No
console errors. Both tests of a route judge one visit. None declared: both criteria are not applicable
(listed, never run), because the environment file declares no route.
"""

from __future__ import annotations

from typing import Any

import pytest

# Without the e2e extra this module is skipped; its criteria then have no test and are inconclusive.
pytest.importorskip("playwright", reason="the E2E suite needs pytest-playwright: pip install 'rollout-gate[e2e]'")

from rollout_gate.e2e.config import E2eRoute
from rollout_gate.e2e.routes import RouteVisits, browser_error_problems, load_time_problems
from rollout_gate.pytest.stash import session_key

pytestmark = [pytest.mark.e2e]


def route_params(config: pytest.Config) -> list[Any]:
    rollout = config.stash.get(session_key, None)
    routes = rollout.loaded.env.e2e.routes if rollout is not None else ()
    if not routes:
        none = pytest.mark.not_applicable("no e2e.routes declared in the environment file")
        return [pytest.param(None, id="none-declared", marks=none)]
    return [pytest.param(route, id=route.name) for route in routes]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "e2e_route" in metafunc.fixturenames:
        metafunc.parametrize("e2e_route", route_params(metafunc.config))


@pytest.mark.criterion("page_load_time")
def test_route_page_load_time(e2e_route: E2eRoute, rollout_route_visits: RouteVisits) -> None:
    problems = load_time_problems(rollout_route_visits.of(e2e_route), rollout_route_visits.config)
    assert not problems, "\n".join(problems)


@pytest.mark.criterion("browser_errors")
def test_route_browser_errors(e2e_route: E2eRoute, rollout_route_visits: RouteVisits) -> None:
    problems = browser_error_problems(rollout_route_visits.of(e2e_route))
    assert not problems, "\n".join(problems)
