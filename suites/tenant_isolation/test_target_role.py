"""Runbook: verification on production is read-only: the harness's own login cannot write there."""

from __future__ import annotations

import psycopg
import pytest
from rollout_gate.fixtures.database import review

from rollout_gate.config import Environment
from rollout_gate.db import role_power

pytestmark = [pytest.mark.isolation, pytest.mark.criterion("target_role_least_privilege")]


def test_a_writes_forbidden_target_is_verified_through_a_login_that_cannot_write(
    request: pytest.FixtureRequest, rollout_db: psycopg.Connection, rollout_env: Environment
) -> None:
    power = role_power(rollout_db, rollout_env.tenancy.schemas)
    assert power is not None, "the target connection's role is not in pg_roles"
    key = "target.admin_database_url" if rollout_env.target.admin_database_url else "target.database_url"
    print(f"{key}: {power.describe()}; writes {'allowed' if rollout_env.safety.allow_writes else 'forbidden'}")
    if not rollout_env.safety.allow_writes:
        review(request, power.findings(key), "the harness's database login")
