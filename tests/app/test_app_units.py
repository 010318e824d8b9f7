"""Reference app building blocks: fault flags, tokens, identity statements, metrics, authorization policy."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest

from rollout_gate.reference_app.app import tokens
from rollout_gate.reference_app.app.authz import Policy
from rollout_gate.reference_app.app.db import Principal, identity_statements
from rollout_gate.reference_app.app.faults import Fault, Faults
from rollout_gate.reference_app.app.metrics import Registry
from rollout_gate.reference_app.app.settings import Settings

SECRET = "s" * 40
ALICE = Principal(uuid.UUID(int=7), "alice@example.test")


def test_fault_flags_parse_and_unknown_names_fail_loudly() -> None:
    assert Faults.parse(None) == Faults()
    assert Faults.parse(" viewer_can_write, reusable_invites ") == {Fault.VIEWER_CAN_WRITE, Fault.REUSABLE_INVITES}
    with pytest.raises(ValueError, match=r"unknown fault flag.*viewer_can_wirte"):
        Faults.parse("viewer_can_wirte")


def test_settings_refuse_a_short_secret_and_missing_values() -> None:
    base = {"ROLLOUT_APP_DATABASE_URL": "postgresql://x", "ROLLOUT_APP_PUBLIC_URL": "http://127.0.0.1:1/"}
    with pytest.raises(ValueError, match="JWT_SECRET"):
        Settings.from_environ(base)
    with pytest.raises(ValueError, match="at least 32"):
        Settings.from_environ({**base, "ROLLOUT_APP_JWT_SECRET": "short"})
    settings = Settings.from_environ(
        {**base, "ROLLOUT_APP_JWT_SECRET": SECRET, "ROLLOUT_APP_FAULTS": "dashboard_ignores_org"}
    )
    assert settings.public_url == "http://127.0.0.1:1" and settings.faults == {Fault.DASHBOARD_IGNORES_ORG}


def test_tokens_round_trip_and_reject_expired_foreign_and_unsigned_tokens() -> None:
    token = tokens.issue(ALICE, SECRET, 60)
    assert tokens.verify(token, SECRET) == ALICE
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], issuer=tokens.ISSUER)
    assert {"sub", "role", "exp", "iat", "email"} <= set(claims) and claims["role"] == "authenticated"
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(tokens.issue(ALICE, SECRET, 60, now=time.time() - 120), SECRET)
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(tokens.issue(ALICE, "x" * 40, 60), SECRET)
    unsigned = jwt.encode({**claims}, key=None, algorithm="none")  # type: ignore[arg-type]
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(unsigned, SECRET)


def test_identity_is_transaction_local_by_default() -> None:
    (role, _), (claims, params) = identity_statements("authenticated", {"sub": "u"}, local=True)
    assert role.as_string() == 'set local role "authenticated"'
    assert "set_config('request.jwt.claims', %s, %s)" in claims.as_string() and params == ('{"sub": "u"}', True)
    (session_role, _), (_, session_params) = identity_statements("authenticated", {}, local=False)
    assert session_role.as_string() == 'set role "authenticated"' and session_params[1] is False


def test_policy_each_fault_removes_exactly_its_own_check() -> None:
    clean = Policy()
    assert not clean.can_write("viewer") and clean.can_write("member")
    assert not clean.can_invite("member") and clean.can_invite("admin")
    assert not clean.can_delete_org("admin") and clean.can_delete_org("owner")
    assert not clean.last_owner_may_leave()
    assert not clean.can_change_member("admin", "member", "owner") and clean.can_change_member(
        "owner", "member", "owner"
    )
    assert Policy(Faults.of([Fault.VIEWER_CAN_WRITE])).can_write("viewer")
    assert Policy(Faults.of([Fault.MEMBER_CAN_INVITE])).can_invite("member")
    assert Policy(Faults.of([Fault.ADMIN_CAN_DELETE_ORG])).can_delete_org("admin")
    assert not Policy(Faults.of([Fault.ADMIN_CAN_DELETE_ORG])).can_delete_org("member")
    assert Policy(Faults.of([Fault.LAST_OWNER_CAN_LEAVE])).last_owner_may_leave()


def test_metrics_render_counters_and_histograms_in_prometheus_text_format() -> None:
    registry = Registry()
    registry.observe("GET", "/api/organizations/{org_id}/config", 200, 0.003)
    registry.observe("GET", "/api/organizations/{org_id}/config", 404, 0.2)
    text = registry.render()
    assert "# TYPE http_requests_total counter" in text
    assert 'http_requests_total{method="GET",route="/api/organizations/{org_id}/config",status="200"} 1' in text
    assert (
        'http_request_duration_seconds_bucket{method="GET",route="/api/organizations/{org_id}/config",le="0.005"} 1'
        in text
    )
    assert 'le="+Inf"} 2' in text and "http_request_duration_seconds_count{" in text
