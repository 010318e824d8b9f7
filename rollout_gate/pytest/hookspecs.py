"""Hooks other plugins and conftest files implement to extend the gate (added through `pytest_addhooks`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from rollout_gate.config import Environment
    from rollout_gate.gate.measurements import Measurement
    from rollout_gate.gate.verdict import Decision
    from rollout_gate.pytest.session import RolloutSession
    from rollout_gate.target import Target


@pytest.hookspec
def pytest_rollout_criteria(config: pytest.Config, environment: Environment) -> list[dict[str, Any]] | None:
    """Return criteria to add to this run, each as a criteria-file entry (a dict, or a `CriterionSpec`).

    Called once per process in `pytest_configure`, after the environment's `criteria:` section is known.
    An id that already exists is a usage error: change existing criteria in the environment file.
    """


@pytest.hookspec
def pytest_rollout_measurements(config: pytest.Config) -> list[Measurement] | None:
    """Return measurements (e.g. from a load run this plugin drove) for the decision; controller only."""


@pytest.hookspec
def pytest_rollout_verdict(config: pytest.Config, decision: Decision, gate_file: Path) -> None:
    """Observe the decision after gate.json is written (notify, annotate); controller only."""


@pytest.hookspec(firstresult=True)
def pytest_rollout_make_target(config: pytest.Config, session: RolloutSession) -> Target | None:
    """Return the target this run verifies, or None to leave the choice to other implementations.

    Built in: `kind: local` gives the embedded rehearsal; when nothing answers, the environment is a
    deployed one that the harness only observes. Called once per process, on first use of the target.
    """


@pytest.hookspec(firstresult=True)
def pytest_rollout_e2e_sign_in(config: pytest.Config, environment: Environment) -> Any:
    """Return `sign_in(page, user)`: signs `user` (an `ExistingUser`: email, password) in on a Playwright `page`
    of a fresh context, the way your app's sign-in page does it; or None to leave it to others.

    Used for `e2e.routes` with `auth: existing_user` when the environment declares no `e2e.sign_in`
    cookie or localStorage key. Built in: the reference app's sign-in form (only where the environment says
    the target is the reference app). The context's cookies and storage are then reused for every route.
    """


@pytest.hookspec
def pytest_rollout_e2e_flows(config: pytest.Config, environment: Environment) -> list[type] | None:
    """Return flow classes for the E2E suite: each becomes one test `e2e/test_flows.py::test_flow[<name>]`
    feeding criterion `e2e_critical_flows`.

    A flow class has `run(self, <fixtures>)`: its parameters are fixture names, given as for a test
    (`rollout_browser`, `rollout_existing_user`, your own fixtures...); optional class attributes `name`
    (default: the class name) and `destructive = True` (it writes: never run where writes are forbidden).
    Built in: the reference app's four flows (rollout_gate/e2e/flows.py), only for the reference app.
    """
