"""Probes the environment file declares to have nothing to probe (listed as not applicable, never run)."""

from __future__ import annotations

from typing import Any

import pytest

from rollout_gate.isolation.impersonation import anon_not_applicable
from rollout_gate.pytest.stash import session_key

# `impersonation.anon_role: null`: there is no anonymous role to act as.
ANON_TESTS = frozenset({"test_anonymous_role_reaches_no_tenant_row"})


@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> Any:
    # Marked as the items are made: the gate records each test from its module's collect report.
    made = yield
    rollout = collector.config.stash.get(session_key, None)
    if rollout is None or name not in ANON_TESTS or made is None:
        return made
    reason = anon_not_applicable(rollout.loaded.env.tenancy.impersonation)
    if reason is not None:
        for item in made if isinstance(made, list) else [made]:
            if isinstance(item, pytest.Item):
                item.add_marker(pytest.mark.not_applicable(reason))
    return made
