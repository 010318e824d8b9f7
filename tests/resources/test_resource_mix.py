"""The load mix over declared resources: its requests per addressing, its weights, and its refusals."""

from __future__ import annotations

import pytest

from rollout_gate.api.config import ApiConfig
from rollout_gate.load.config import LoadConfig
from rollout_gate.load.resource_mix import call_for, created_id, delete_call, listed_ids, resource_tasks

API = ApiConfig.model_validate(
    {
        "tenant_users": {"csv": "users.csv"},
        "resources": [
            {"name": "projects", "list_path": "/orgs/{tenant}/projects", "item_path": "/orgs/{tenant}/projects/{id}",
             "create": {"name": "{marker}", "org": "{tenant}"}, "list_query": {"limit": 50}},
            {"name": "notes", "list_path": "/notes", "item_path": "/notes/{id}", "create": {"title": "{marker}"},
             "tenant": {"by": "header", "header": "X-Tenant"}, "id_field": "data.id", "items_field": "data"},
            {"name": "me", "list_path": "/mine", "item_path": "/mine/{id}", "create": {}, "tenant": {"by": "token"}},
        ],
    }
)  # fmt: skip


def test_each_operation_addresses_the_tenant_as_declared() -> None:
    tasks = {(t.resource.name, t.operation): t for t in resource_tasks(API, LoadConfig())}
    listed = call_for(tasks["projects", "list"], "t1")
    assert (listed.method, listed.path, listed.headers, listed.params) == (
        "GET",
        "/orgs/t1/projects",
        {},
        {"limit": 50},
    )
    made = call_for(tasks["projects", "create"], "t1", marker="rg-test-x-1")
    assert (made.method, made.json) == ("POST", {"name": "rg-test-x-1", "org": "t1"})
    read = call_for(tasks["notes", "read"], "t2", item="n7")
    assert (read.path, read.headers, read.name) == ("/notes/n7", {"X-Tenant": "t2"}, "notes read /notes/{id}")
    assert call_for(tasks["me", "list"], "t3").headers == {} and call_for(tasks["me", "list"], "t3").path == "/mine"
    assert delete_call(API.resources[1], "t2", "n7").headers == {"X-Tenant": "t2"}
    with pytest.raises(ValueError, match="a read needs an item id"):
        call_for(tasks["notes", "read"], "t2")


def test_ids_come_from_the_declared_fields() -> None:
    notes = API.resources[1]
    assert listed_ids(notes, {"data": [{"data": {"id": 1}}, {"data": {}}]}) == ["1"]
    assert created_id(notes, {"data": {"id": "n9"}}) == "n9" and created_id(notes, {"id": "n9"}) is None


def test_weights_per_operation_and_resource() -> None:
    load = LoadConfig.model_validate(
        {"resource_mix": {"weights": {"list": 2, "read": 0, "create": 1}, "per_resource": {"me": {"create": 0}}}}
    )
    got = {(t.resource.name, t.operation): t.weight for t in resource_tasks(API, load)}
    assert got == {("projects", "list"): 2, ("projects", "create"): 1, ("notes", "list"): 2, ("notes", "create"): 1,
                   ("me", "list"): 5, ("me", "read"): 3}  # fmt: skip
    assert resource_tasks(API, LoadConfig.model_validate({"resource_mix": {"enabled": False}})) == ()
    assert resource_tasks(ApiConfig(), LoadConfig()) == ()


def test_weights_of_an_undeclared_resource_are_refused() -> None:
    load = LoadConfig.model_validate({"resource_mix": {"per_resource": {"nope": {}}}})
    with pytest.raises(ValueError, match=r"unknown resource\(s\) nope \(known: projects, notes, me\)"):
        resource_tasks(API, load)
