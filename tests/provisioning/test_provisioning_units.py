"""Provisioning building blocks: names, LIKE patterns, ages, the isolation probes' leak detection."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rollout_gate.api.client import Session
from rollout_gate.api.config import TenantEndpoint
from rollout_gate.api.endpoints import REFERENCE_ENDPOINTS, fill, placeholders, tenant_endpoints
from rollout_gate.api.isolation import Tenant, leaked, probes
from rollout_gate.provisioning.model import Naming, like_pattern
from rollout_gate.provisioning.sweep import interval, parse_age


def test_names_are_unique_under_the_prefix_and_emails_are_lower_case() -> None:
    naming = Naming("rg-test-20260101000000-abc123-gw1-p2-", "Example.test")
    first, second = naming.name("org"), naming.name("org")
    assert first != second and first.startswith("rg-test-20260101000000-abc123-gw1-p2-org-")
    email = naming.email("Owner")
    assert email.endswith("@example.test") and email == email.lower()


def test_like_patterns_escape_wildcards() -> None:
    assert like_pattern("rg-test-a_b%c-") == "rg-test-a\\_b\\%c-%"


def test_ages() -> None:
    assert parse_age("2h") == timedelta(hours=2) and parse_age("0s") == timedelta(0)
    assert interval(parse_age("90m")) == "5400 seconds"
    with pytest.raises(ValueError, match=r"e\.g\. 30m"):
        parse_age("2 hours")


def test_every_reference_endpoint_uses_known_placeholders_and_env_lists_win() -> None:
    ids = {name: name for name in ("org", "client", "project", "time_entry", "invitation", "member")}
    for endpoint in REFERENCE_ENDPOINTS:
        fill(endpoint.path, ids), fill(endpoint.body, ids)
    custom = TenantEndpoint(method="GET", path="/v1/orgs/{org}/reports")
    from rollout_gate.api.config import ApiConfig

    assert tenant_endpoints(ApiConfig(tenant_endpoints=(custom,))) == (custom,)
    assert tenant_endpoints(None) == REFERENCE_ENDPOINTS
    with pytest.raises(ValueError, match="unknown placeholder"):
        fill("/x/{tenant}", ids)


def tenant(label: str, org: str, project: str) -> Tenant:
    return Tenant(
        label, Session("e", "t"), {"org": org, "project": project}, {org: "organization id", project: "project id"}
    )


def test_probes_foreign_mixed_and_own_forms() -> None:
    a, b = tenant("A", "org-a", "p-a"), tenant("B", "org-b", "p-b")
    get = TenantEndpoint(method="GET", path="/orgs/{org}/projects/{project}")
    forms = {p.form: p.path for p in probes(get, a, b)}
    assert forms == {
        "foreign": "/orgs/org-b/projects/p-b",
        "mixed": "/orgs/org-a/projects/p-b",
        "own": "/orgs/org-a/projects/p-a",
    }
    delete = TenantEndpoint(method="DELETE", path="/orgs/{org}")
    assert [p.form for p in probes(delete, a, b)] == ["foreign"]
    assert placeholders(TenantEndpoint(method="POST", path="/o/{org}", body={"p": "{project}"})) == {"org", "project"}


def test_leaks_are_found_case_insensitively_except_what_the_request_carried() -> None:
    markers = {"ABC-123": "project id", "Acme": "client name"}
    assert leaked('{"id": "abc-123", "client": "acme"}', markers) == ["client name", "project id"]
    assert leaked('{"error": "project abc-123 not found"}', markers, ignore="/projects/ABC-123") == []
