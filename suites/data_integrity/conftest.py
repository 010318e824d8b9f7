"""Checks the environment file declares to have nothing to check (listed as not applicable, never run)."""

from __future__ import annotations

from typing import Any

import pytest

from rollout_gate.integrity.applicability import not_applicable
from rollout_gate.pytest.stash import session_key

# Test function -> the integrity check it runs (rollout_gate/integrity/applicability.py).
CHECKS = {
    "test_every_user_has_an_active_membership": "user_has_tenant",
    "test_every_user_has_exactly_one_personal_workspace": "personal_workspace",
    "test_every_organization_has_an_owner": "tenant_has_owner",
    "test_calling_it_twice_leaves_exactly_one_workspace": "personal_workspace",
    "test_concurrent_calls_leave_exactly_one_workspace": "personal_workspace",
}


@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> Any:
    # Marked as the items are made: the gate records each test from its module's collect report.
    made = yield
    rollout = collector.config.stash.get(session_key, None)
    check = CHECKS.get(name)
    if rollout is None or check is None or made is None:
        return made
    reason = not_applicable(check, rollout.loaded.env.tenancy)
    if reason is not None:
        for item in made if isinstance(made, list) else [made]:
            if isinstance(item, pytest.Item):
                item.add_marker(pytest.mark.not_applicable(reason))
    return made
