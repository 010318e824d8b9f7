"""Runbook: "Test role-based permissions" — the role rules the environment file declares (`api.role_rules`).

A user of the rule's role in tenant A (the CSV's role column) makes the call; the status must be the
expected one, and a refused write must have changed nothing A reads back.
"""

from __future__ import annotations

from typing import Any

import pytest

from rollout_gate.api.config import RoleRule
from rollout_gate.api.reference import ReferenceApi
from rollout_gate.api.resources import ResourceProbes
from rollout_gate.api.role_rules import check_rule
from rollout_gate.api.tenant_users import DeclaredTenants
from rollout_gate.config import Environment
from rollout_gate.pytest.stash import session_key

pytestmark = [
    pytest.mark.isolation,
    pytest.mark.phase("post-deploy"),
    pytest.mark.criterion("role_rules"),
]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "declared_rule" not in metafunc.fixturenames:
        return
    rollout = metafunc.config.stash.get(session_key, None)
    rules = rollout.loaded.env.api.role_rules if rollout is not None else ()
    params: list[Any] = [
        pytest.param(rule, id=rule.label, marks=[pytest.mark.destructive] if rule.writes else []) for rule in rules
    ]
    if not params:
        none = pytest.mark.not_applicable("no api.role_rules declared in the environment file")
        params = [pytest.param(None, id="none-declared", marks=none)]
    metafunc.parametrize("declared_rule", params)


def test_declared_role_rule_holds(
    declared_rule: RoleRule,
    rollout_api: ReferenceApi,
    rollout_declared_tenants: DeclaredTenants,
    rollout_declared_probes: dict[str, ResourceProbes],
    rollout_env: Environment,
) -> None:
    rule = declared_rule
    try:
        actor = rollout_declared_tenants.role(rule.role)
    except ValueError as exc:
        pytest.fail(str(exc), pytrace=False)
    if actor is None:
        pytest.fail(f"role rule {rule.label}: api.tenant_users.csv names no {rule.role} of tenant A", pytrace=False)
    probes = rollout_declared_probes[rule.resource] if rule.resource else None
    item = None
    if probes is not None and "{id}" in rule.path:
        try:
            item = probes.own_item(writes=rollout_env.safety.allow_writes)
        except ValueError as exc:
            pytest.fail(str(exc), pytrace=False)
        if item is None:
            pytest.skip(f"{rule.resource}: tenant A has no item for {rule.label}, and creating one is forbidden here")
    problems = check_rule(rollout_api, rule, actor, probes, item)
    assert not problems, "\n".join(problems)
