"""Checks the environment file declares to have nothing to check (listed as not applicable, never run)."""

from __future__ import annotations

from typing import Any

import pytest

from rollout_gate.config import Environment
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
# Feeds zero_data_loss_sampled (test_no_data_lost.py): applicable only where integrity.sampling says so.
SAMPLED_TEST = "test_sampled_tables_are_unchanged_in_their_sample"


@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> Any:
    # Marked as the items are made: the gate records each test from its module's collect report.
    made = yield
    rollout = collector.config.stash.get(session_key, None)
    if rollout is not None and name == SAMPLED_TEST and made is not None:
        _mark(made, _sampled_not_applicable(rollout.loaded.env))
        return made
    check = CHECKS.get(name)
    if rollout is None or check is None or made is None:
        return made
    _mark(made, not_applicable(check, rollout.loaded.env.tenancy))
    return made


def _mark(made: Any, reason: str | None) -> None:
    if reason is not None:
        for item in made if isinstance(made, list) else [made]:
            if isinstance(item, pytest.Item):
                item.add_marker(pytest.mark.not_applicable(reason))


def _sampled_not_applicable(env: Environment) -> str | None:
    """The sampled zero-data-loss test carries no suite marker (it must not feed data_integrity): what the
    environment file says keeps it out, as for the integrity suite's own tests."""
    if not env.suites.integrity:
        return "suites.integrity: false"
    if not env.integrity.sampling.tables:
        return "integrity.sampling names no table (every table is checked in full by zero_data_loss)"
    if env.integrity.sampling.blocking:
        return "integrity.sampling.blocking: true (the sampled tables feed zero_data_loss)"
    return None
