"""Fixtures of the declared-resource suites: users of two tenants (`api.tenant_users`) and A's probed items."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator

import pytest

from rollout_gate.api.reference import ReferenceApi
from rollout_gate.api.resources import ResourceProbes
from rollout_gate.api.tenant_users import DeclaredTenants, TenantUsers, csv_path, read_tenant_users
from rollout_gate.config import Environment
from rollout_gate.pytest.session import RolloutSession


@pytest.fixture(scope="session")
def rollout_tenant_users(rollout_env: Environment, rollout_session: RolloutSession) -> TenantUsers:
    """The users of tenants A and B from `api.tenant_users.csv` (their secrets are masked in every output)."""
    path = csv_path(rollout_env.api.tenant_users, rollout_session.loaded.base_dir)
    if path is None:
        pytest.fail("api.tenant_users.csv is not set: the declared resources need users of two tenants", pytrace=False)
    try:
        users = read_tenant_users(path, rollout_env.api.tenant_users)
    except ValueError as exc:
        pytest.fail(str(exc), pytrace=False)
    for user in users.users:
        rollout_session.loaded.redact.add(user.secret)
    return users


@pytest.fixture(scope="module")
def rollout_declared_tenants(
    rollout_tenant_users: TenantUsers, rollout_api: ReferenceApi, rollout_env: Environment
) -> DeclaredTenants:
    """Tenants A and B signed in through `target.auth` (`rollout_gate.auth.sign_in`), and their role users."""
    return DeclaredTenants(rollout_tenant_users, rollout_api, rollout_env.target.auth)


@pytest.fixture(scope="module")
def rollout_declared_probes(
    rollout_declared_tenants: DeclaredTenants,
    rollout_api: ReferenceApi,
    rollout_env: Environment,
    rollout_session: RolloutSession,
) -> Iterator[dict[str, ResourceProbes]]:
    """One prober per declared resource; what they created in A is deleted as A when the module ends."""
    numbers = itertools.count(1)
    prefix = f"{rollout_session.run.prefix}res-"
    made: dict[str, ResourceProbes] = {}
    try:
        a, b = rollout_declared_tenants.a(), rollout_declared_tenants.b()
    except ValueError as exc:
        pytest.fail(str(exc), pytrace=False)
    for resource in rollout_env.api.resources:
        made[resource.name] = ResourceProbes(
            rollout_api,
            resource,
            a,
            b,
            refused=resource.refused_statuses or rollout_env.api.refused_statuses,
            marker=lambda name=resource.name: f"{prefix}{name}-{next(numbers)}",
        )
    try:
        yield made
    finally:
        left = [line for probes in made.values() for line in probes.cleanup()]
        if left:
            warnings.warn(f"declared resources left behind (run prefix {prefix}): {'; '.join(left)}", stacklevel=1)
