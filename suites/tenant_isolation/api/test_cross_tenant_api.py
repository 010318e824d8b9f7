"""Runbook: "Verify users can access their own data only" — through the API, endpoint by endpoint.

A member of organization A asks every tenant-scoped endpoint (`api.tenant_endpoints`, by default
the reference app's) for organization B's resources: each must be refused (403/404), no response
may carry anything of B's, and B's data must be unchanged afterwards.
"""

from __future__ import annotations

import pytest
from rollout_gate.fixtures.tenants import TenantPair

from rollout_gate.api.config import TenantEndpoint
from rollout_gate.api.endpoints import endpoint_id, tenant_endpoints, views
from rollout_gate.api.isolation import probe_endpoint
from rollout_gate.api.reference import ReferenceApi
from rollout_gate.config import Environment
from rollout_gate.pytest.stash import session_key

pytestmark = [
    pytest.mark.isolation,
    pytest.mark.phase("post-deploy"),
    pytest.mark.destructive,
    pytest.mark.criterion("zero_cross_tenant_access"),
]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "tenant_endpoint" in metafunc.fixturenames:
        rollout_session = metafunc.config.stash.get(session_key, None)
        endpoints = tenant_endpoints(rollout_session.loaded.env.api if rollout_session else None)
        metafunc.parametrize("tenant_endpoint", endpoints, ids=[endpoint_id(e) for e in endpoints])


def test_endpoint_refuses_the_other_organization(
    tenant_endpoint: TenantEndpoint,
    rollout_tenant_pair: TenantPair,
    rollout_api: ReferenceApi,
    rollout_env: Environment,
) -> None:
    endpoints = tenant_endpoints(rollout_env.api)
    problems = probe_endpoint(
        rollout_api,
        tenant_endpoint,
        rollout_tenant_pair.a,
        rollout_tenant_pair.b,
        refused=rollout_env.api.refused_statuses,
        views=views(endpoints),
    )
    assert not problems, "\n".join(problems)
