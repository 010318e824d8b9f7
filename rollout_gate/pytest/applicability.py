"""Which shipped checks the environment file declares to have nothing to check: the one place that decides.

A test marked here is listed as not applicable (`not_applicable(reason)`, see markers.py), never run, never
skipped into an inconclusive: only for what the file says, never by guess.

- `target.database: none`: every test that needs the target database (its fixtures reach the DSN or the
  pre-migration baseline) - integrity, database isolation, pre-deploy and rollback database checks.
- `target.app` not `reference` (and not `kind: local`, which deploys it): the built-in tests written against
  the reference app's own paths, markup and data (its smoke tests, API isolation and role-rule probes,
  browser flows).
- `tenancy.impersonation.anon_role: null`, `tenancy.personal_workspace: none`, `users_without_tenant` /
  `tenants_without_owner: allowed`, `integrity.sampling`: the checks of what the model does not have.

Marked as the items are made (`pytest_pycollect_makeitem`): the gate records each test from its module's
collect report, so the mark must be there by then.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from rollout_gate.config import Environment
from rollout_gate.integrity.applicability import not_applicable as integrity_not_applicable
from rollout_gate.isolation.impersonation import anon_not_applicable
from rollout_gate.pytest.checks import shipped_suites
from rollout_gate.pytest.stash import session_key

# Fixtures that reach the target database (every database fixture derives from the DSN) or stand for its
# pre-migration state (the baseline is a snapshot of its tables).
DATABASE_FIXTURES = frozenset({"rollout_target_dsn", "rollout_baseline"})

NO_DATABASE = "target.database: none (the environment file says the target has no database to check)"
NOT_REFERENCE = (
    "target.app is not reference (the environment file does not say the target is the reference app, "
    "whose own paths this test uses)"
)

# Shipped modules (relative to the suites folder) written against the reference app.
REFERENCE_MODULES = frozenset(
    {
        "smoke/test_smoke.py",
        "tenant_isolation/api/test_role_rules.py",
    }
)
# Cases that need the database even though their fixtures do not show it: (module, test, parameter id) -> why.
DATABASE_CASES: dict[tuple[str, str, str | None], str] = {
    ("tenant_isolation/api/test_role_rules.py", "test_expired_or_revoked_invitation_cannot_be_accepted", "expired"): (
        "no API can backdate an invitation (provisioning.sql on the target database does it)"
    ),
}
# Probes the reference app's endpoints unless the environment declares its own (`api.tenant_endpoints`).
REFERENCE_UNLESS_DECLARED = {"tenant_isolation/api/test_cross_tenant_api.py": "tenant_endpoints"}
# (The reference app's four E2E flows are registered through the pytest_rollout_e2e_flows hook only for it:
# rollout_gate/e2e/flows.py.)

Rule = Callable[[Environment], "str | None"]


def _sampled(env: Environment) -> str | None:
    """The sampled zero-data-loss test runs only where `integrity.sampling` names tables and is not blocking."""
    if not env.integrity.sampling.tables:
        return "integrity.sampling names no table (every table is checked in full by zero_data_loss)"
    if env.integrity.sampling.blocking:
        return "integrity.sampling.blocking: true (the sampled tables feed zero_data_loss)"
    return None


def _integrity(check: str) -> Rule:
    return lambda env: integrity_not_applicable(check, env.tenancy)


# (module relative to the suites folder, test function) -> what the environment file may say against it.
BY_TEST: dict[tuple[str, str], Rule] = {
    ("tenant_isolation/test_cross_tenant_probes.py", "test_anonymous_role_reaches_no_tenant_row"): lambda env: (
        anon_not_applicable(env.tenancy.impersonation)
    ),
    ("data_integrity/test_tenancy_invariants.py", "test_every_user_has_an_active_membership"): _integrity(
        "user_has_tenant"
    ),
    ("data_integrity/test_tenancy_invariants.py", "test_every_user_has_exactly_one_personal_workspace"): _integrity(
        "personal_workspace"
    ),
    ("data_integrity/test_tenancy_invariants.py", "test_every_organization_has_an_owner"): _integrity(
        "tenant_has_owner"
    ),
    ("data_integrity/test_personal_workspace.py", "test_calling_it_twice_leaves_exactly_one_workspace"): _integrity(
        "personal_workspace"
    ),
    ("data_integrity/test_personal_workspace.py", "test_concurrent_calls_leave_exactly_one_workspace"): _integrity(
        "personal_workspace"
    ),
    ("data_integrity/test_no_data_lost.py", "test_sampled_tables_are_unchanged_in_their_sample"): _sampled,
}


def reason_for(
    env: Environment, module: str | None, name: str, fixturenames: list[str], case: str | None = None
) -> str | None:
    """Why the environment file declares this test to have nothing to check, or None when it applies.

    `module` is the test's file relative to the shipped suites folder (None for a team's own test: only
    the database rule applies to it, as a team's database test needs a database like ours)."""
    if env.target.database == "none" and DATABASE_FIXTURES.intersection(fixturenames):
        return NO_DATABASE
    if module is None:
        return None
    if env.target.database == "none" and (module, name, case) in DATABASE_CASES:
        return f"{NO_DATABASE}: {DATABASE_CASES[module, name, case]}"
    if not env.reference_app:
        if module in REFERENCE_MODULES:
            return NOT_REFERENCE
        declared = REFERENCE_UNLESS_DECLARED.get(module)
        if declared is not None and not getattr(env.api, declared):
            return f"{NOT_REFERENCE}; api.{declared} declares none of the app's own"
    rule = BY_TEST.get((module, name))
    return rule(env) if rule is not None else None


@cache
def _suites_dir() -> Path:
    return shipped_suites().resolve()


def shipped_module(path: Path) -> str | None:
    """`smoke/test_smoke.py` for a shipped test module, None for any other file."""
    try:
        return path.resolve().relative_to(_suites_dir()).as_posix()
    except ValueError:
        return None


@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> Any:
    made = yield
    rollout = collector.config.stash.get(session_key, None)
    if rollout is None or made is None:
        return made
    env = rollout.loaded.env
    module = shipped_module(Path(str(collector.path)))
    for item in made if isinstance(made, list) else [made]:
        if isinstance(item, pytest.Function):
            callspec = getattr(item, "callspec", None)
            case = callspec.id if callspec is not None else None
            reason = reason_for(env, module, item.originalname, list(item.fixturenames), case)
            if reason is not None:
                # First, so what this module decides is the reason listed (before a parameter's own mark).
                item.add_marker(pytest.mark.not_applicable(reason), append=False)
    return made
