"""Runbook "Post-Deployment Validation: Automated Health Checks" and "User Login Test"."""

from __future__ import annotations

import psycopg
import pytest

from rollout_gate.api.client import Session, expect
from rollout_gate.api.reference import ReferenceApi
from rollout_gate.api.rules import assert_refused
from rollout_gate.provisioning.existing import ExistingUser
from rollout_gate.smoke.pages import core_page_problems
from rollout_gate.smoke.workspace import missing_history

pytestmark = [pytest.mark.smoke, pytest.mark.criterion("smoke")]


def test_health(api: ReferenceApi) -> None:
    assert expect(api.request("GET", "/health"), 200)["status"] == "ok"


def test_auth_health(api: ReferenceApi, existing_session: Session) -> None:
    """`curl -f /api/health/auth`: the auth path works, and a valid token is recognised."""
    assert expect(api.request("GET", "/health/auth"), 200)["auth"] == "ok"
    me = expect(api.request("GET", "/health/auth", token=existing_session.token), 200)
    assert me["user"]["email"] == existing_session.email


def test_existing_user_signs_in(api: ReferenceApi, existing_user: ExistingUser) -> None:
    session = api.sign_in(existing_user.email, existing_user.password)
    assert session.token
    wrong = api.request("POST", "/auth/sign-in", json={"email": existing_user.email, "password": "wrong-password"})
    assert_refused(wrong, "signing in with a wrong password", (401,))


def test_personal_workspace_exists_with_pre_migration_data(
    api: ReferenceApi, existing_session: Session, target_db: psycopg.Connection
) -> None:
    """ "Personal workspace created automatically; historical data visible and accessible" (idempotent)."""
    workspace = expect(api.ensure_personal_workspace(existing_session), 200)
    again = expect(api.ensure_personal_workspace(existing_session), 200)
    assert again["id"] == workspace["id"] and again["created"] is False, "ensure-personal-workspace is not idempotent"
    missing = missing_history(api, existing_session, workspace["id"], target_db)
    assert not missing, f"pre-migration rows not visible in the personal workspace: {missing}"


def test_org_config(api: ReferenceApi, existing_session: Session) -> None:
    workspace = expect(api.ensure_personal_workspace(existing_session), 200)
    config = expect(api.config(existing_session, workspace["id"]), 200)
    assert config["id"] == workspace["id"] and config["personal"] is True
    assert config["role"] == "owner" and config["permissions"]["write"] is True


def test_core_pages_load(api_base_url: str, existing_user: ExistingUser) -> None:
    problems = core_page_problems(api_base_url, existing_user.email, existing_user.password)
    assert not problems, "\n".join(problems)


def test_metrics_are_exposed(api: ReferenceApi) -> None:
    response = api.request("GET", "/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert "http_requests_total{" in response.text and "http_request_duration_seconds_bucket{" in response.text
