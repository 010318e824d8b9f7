"""Runbook: "RLS policies enforcing isolation" on the application's own connection (`target.app_role`)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from rollout_gate.catalog import TenancyModel
from rollout_gate.isolation.app_role import app_role_findings
from rollout_gate.pytest.stash import session_key

pytestmark = [pytest.mark.isolation, pytest.mark.criterion("app_role_rls")]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "app_role" in metafunc.fixturenames:
        rollout = metafunc.config.stash.get(session_key, None)
        role = rollout.loaded.env.target.app_role if rollout is not None else None
        # Unset, the environment file says there is no application role to check: listed, never run.
        marks: Any = [] if role else [pytest.mark.not_applicable("target.app_role is not set")]
        metafunc.parametrize("app_role", [pytest.param(role, id="target.app_role", marks=marks)])


def test_row_level_security_binds_the_application_role(
    app_role: str, rollout_tenancy: TenancyModel, rollout_admin_db: psycopg.Connection
) -> None:
    findings = app_role_findings(rollout_admin_db, rollout_tenancy, app_role)
    assert not findings, f"RLS does not bind the application role {app_role}:\n" + "\n".join(map(str, findings))
    print(f"{app_role}: not superuser, not BYPASSRLS, owns no tenant table with RLS not forced")
