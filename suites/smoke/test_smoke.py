"""Runbook "Post-Deployment Validation: Automated Health Checks" and "User Login Test".

Written against the reference app's own paths and data: collected everywhere, applicable only where the
environment file says `target.app: reference` (rollout_gate/pytest/applicability.py); any other app declares
its checks in `smoke.endpoints`.
"""

from __future__ import annotations

import re

import psycopg
import pytest

from rollout_gate.api.client import Session, expect
from rollout_gate.api.reference import ReferenceApi
from rollout_gate.auth import SignInError, sign_in
from rollout_gate.config import Environment
from rollout_gate.provisioning.existing import ExistingUser
from rollout_gate.smoke.pages import core_page_problems
from rollout_gate.smoke.workspace import missing_history

pytestmark = [pytest.mark.smoke, pytest.mark.criterion("smoke")]


def test_health(rollout_api: ReferenceApi) -> None:
    assert expect(rollout_api.request("GET", "/health"), 200)["status"] == "ok"


def test_auth_health(rollout_api: ReferenceApi, rollout_existing_session: Session) -> None:
    """`curl -f /api/health/auth`: the auth path works, and a valid token is recognised."""
    assert expect(rollout_api.request("GET", "/health/auth"), 200)["auth"] == "ok"
    me = expect(rollout_api.request("GET", "/health/auth", token=rollout_existing_session.token), 200)
    assert me["user"]["email"] == rollout_existing_session.email


def test_existing_user_signs_in(
    rollout_api: ReferenceApi, rollout_existing_user: ExistingUser, rollout_env: Environment
) -> None:
    """Through the configured sign-in (`target.auth`): the right password is accepted, a wrong one refused."""
    auth = rollout_env.target.auth
    session = sign_in(auth, rollout_api, rollout_existing_user.email, rollout_existing_user.password)
    assert session.token
    with pytest.raises(SignInError) as refused:
        sign_in(auth, rollout_api, rollout_existing_user.email, "wrong-password")
    # Refused as a client error (401/400), not a server failure (5xx) that happens to refuse everyone.
    assert re.search(r"-> 4\d\d\b", str(refused.value)), f"a wrong password is not refused with a 4xx: {refused.value}"


def test_personal_workspace_exists_with_pre_migration_data(
    rollout_api: ReferenceApi, rollout_existing_session: Session, rollout_db: psycopg.Connection
) -> None:
    """ "Personal workspace created automatically; historical data visible and accessible" (idempotent)."""
    workspace = expect(rollout_api.ensure_personal_workspace(rollout_existing_session), 200)
    again = expect(rollout_api.ensure_personal_workspace(rollout_existing_session), 200)
    assert again["id"] == workspace["id"] and again["created"] is False, "ensure-personal-workspace is not idempotent"
    missing = missing_history(rollout_api, rollout_existing_session, workspace["id"], rollout_db)
    assert not missing, f"pre-migration rows not visible in the personal workspace: {missing}"


def test_org_config(rollout_api: ReferenceApi, rollout_existing_session: Session) -> None:
    workspace = expect(rollout_api.ensure_personal_workspace(rollout_existing_session), 200)
    config = expect(rollout_api.config(rollout_existing_session, workspace["id"]), 200)
    assert config["id"] == workspace["id"] and config["personal"] is True
    assert config["role"] == "owner" and config["permissions"]["write"] is True


def test_core_pages_load(rollout_base_url: str, rollout_existing_user: ExistingUser) -> None:
    problems = core_page_problems(rollout_base_url, rollout_existing_user.email, rollout_existing_user.password)
    assert not problems, "\n".join(problems)


def test_metrics_are_exposed(rollout_api: ReferenceApi) -> None:
    response = rollout_api.request("GET", "/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert "http_requests_total{" in response.text and "http_request_duration_seconds_bucket{" in response.text
