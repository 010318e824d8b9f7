"""Fixtures of the gate's tests."""

from __future__ import annotations

import pytest
from gate_testing import SECRET_DSN, GateProject


@pytest.fixture
def gate_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> GateProject:
    """A pytester project with `staging` and `production` environments judged by a small criteria file."""
    for var in ("PYTEST_ADDOPTS", "ROLLOUT_ENV", "ROLLOUT_PHASE", "GITHUB_STEP_SUMMARY", "GITHUB_SHA"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RG_GATE_DSN", SECRET_DSN)
    return GateProject(pytester)


@pytest.fixture(autouse=True)
def _no_ci_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never append to a real CI step summary from the gate's own tests."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
