"""Declared resources and role rules on a non-reference app (tests/resources/notes_app.py: in memory, the
tenant in a header): clean gives no finding and leaves nothing behind; each defect is found by the attempt
it breaks, judged by what the app really stores."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from rollout_gate.api.client import ApiClient
from rollout_gate.api.config import ApiConfig
from rollout_gate.api.resources import ATTEMPTS, ResourceProbes, not_applicable
from rollout_gate.api.role_rules import check_rule
from rollout_gate.api.tenant_users import DeclaredTenants, read_tenant_users
from rollout_gate.config.models import AuthConfig
from tests.resources.notes_app import PASSWORD, USERS, serve

PREFIX = "rg-test-notes-"


def _api(tmp_path: Path) -> ApiConfig:
    users = tmp_path / "users.csv"
    rows = [f"{email},{PASSWORD},{tenant},{role}" for email, (tenant, role) in USERS.items()]
    users.write_text("email,secret,tenant,role\n" + "\n".join(rows) + "\n")
    return ApiConfig.model_validate(
        {
            "tenant_users": {"csv": str(users)},
            "resources": [
                {
                    "name": "notes",
                    "list_path": "/notes",
                    "item_path": "/notes/{id}",
                    "create": {"title": "{marker}"},
                    "update": {"title": "{marker}"},
                    "items_field": "data",
                    "tenant": {"by": "header", "header": "X-Tenant"},
                }
            ],
            "role_rules": [
                {
                    "role": "viewer",
                    "method": "POST",
                    "path": "/notes",
                    "body": {"title": "{marker}"},
                    "expect": [403],
                    "resource": "notes",
                },
                {"role": "viewer", "method": "GET", "path": "/notes/{id}", "expect": [200], "resource": "notes"},
            ],
        }
    )


def _probes(client: ApiClient, api: ApiConfig, tenants: DeclaredTenants) -> ResourceProbes:
    numbers = itertools.count(1)
    return ResourceProbes(
        client,
        api.resources[0],
        tenants.a(),
        tenants.b(),
        refused=api.refused_statuses,
        marker=lambda: f"{PREFIX}{next(numbers)}",
    )


def _run(defect: str | None, tmp_path: Path, *, writes: bool = True) -> tuple[dict[str, list[str]], list[str], dict]:
    """Every applicable attempt and rule: (findings per attempt, findings of the rules, what the app stores after)."""
    api = _api(tmp_path)
    with serve(defect) as (url, store), ApiClient(url) as client:
        if not writes:
            store.notes["n0"] = {"id": "n0", "tenant": "tenant-a", "title": "kept by A"}
        tenants = DeclaredTenants(read_tenant_users(Path(api.tenant_users.csv or ""), api.tenant_users), client,
                                  AuthConfig(kind="password", sign_in_path="/auth/sign-in"))  # fmt: skip
        probes = _probes(client, api, tenants)
        found: dict[str, list[str]] = {}
        for attempt in ATTEMPTS:
            if not_applicable(probes.resource, attempt) is None and (writes or not attempt.writes):
                item = probes.own_item(writes=writes)
                assert item is not None
                found[attempt.name] = probes.attempt(attempt.name, item)
        ruled: list[str] = []
        if writes:
            for rule in api.role_rules:
                actor = tenants.role(rule.role)
                assert actor is not None
                ruled += check_rule(client, rule, actor, probes, probes.own_item(writes=True))
        assert probes.cleanup() == []
        return found, ruled, dict(store.notes)


def test_clean_app_refuses_every_attempt_and_keeps_nothing_of_the_run(tmp_path: Path) -> None:
    found, ruled, stored = _run(None, tmp_path)
    assert set(found) == {"read", "list", "header_spoof", "update", "create_into_a", "delete"}
    assert found == {name: [] for name in found} and ruled == []
    assert stored == {}, "the probes' items must be deleted as A"


def test_read_any_is_found_by_the_read_and_header_spoof_attempts(tmp_path: Path) -> None:
    found, _, stored = _run("read_any", tmp_path)
    assert [p for p in found["read"] if "answered 200" in p], found["read"]
    assert [p for p in found["header_spoof"] if "answered 200" in p and "notes: header_spoof" in p]
    assert found["update"] == [] and found["delete"] == []
    assert stored == {}


def test_an_update_refused_after_it_was_applied_is_a_leak(tmp_path: Path) -> None:
    found, _, _ = _run("write_then_refuse", tmp_path)
    # 403 like a clean app, but A reads back another title: judged by what is stored.
    assert found["update"] and all("changed A's item" in p for p in found["update"]), found["update"]
    assert not [p for p in found["update"] if "answered" in p]


def test_viewer_writes_breaks_the_declared_role_rule(tmp_path: Path) -> None:
    found, ruled, stored = _run("viewer_writes", tmp_path)
    assert found == {name: [] for name in found}
    assert len(ruled) == 1 and "role rule viewer POST /notes: answered 201, expected 403" in ruled[0], ruled
    assert stored == {}, "what the viewer's allowed write made is deleted too"


def test_where_writes_are_forbidden_only_read_probes_run_on_a_found_item(tmp_path: Path) -> None:
    found, _, stored = _run(None, tmp_path, writes=False)
    assert set(found) == {"read", "list", "header_spoof"} and found == {name: [] for name in found}
    assert stored == {"n0": {"id": "n0", "tenant": "tenant-a", "title": "kept by A"}}, "nothing written"


def test_the_declaration_is_checked_when_the_file_is_read() -> None:
    with pytest.raises(ValueError, match=r"needs \{tenant\} in list_path"):
        ApiConfig.model_validate({"tenant_users": {"csv": "u.csv"}, "resources": [
            {"name": "x", "list_path": "/x", "item_path": "/x/{id}", "create": {}}]})  # fmt: skip
    with pytest.raises(ValueError, match="a write needs `resource:`"):
        rule = {"role": "viewer", "method": "POST", "path": "/x", "expect": [403]}
        ApiConfig.model_validate({"tenant_users": {"csv": "u.csv"}, "role_rules": [rule]})
    with pytest.raises(ValueError, match=r"api\.tenant_users\.csv"):
        ApiConfig.model_validate({"resources": [{"name": "x", "list_path": "/x", "item_path": "/x/{id}", "create": {},
                                                 "tenant": {"by": "token"}}]})  # fmt: skip
