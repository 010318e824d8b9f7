"""The virtual users' mix over the declared resources (`api.resources`): list, read and create per resource.

For any app, no database needed: the members come from `api.tenant_users.csv` (each with its tenant),
the requests address the tenant as each resource declares (path, header, or the token), and what a
user creates carries the run's marker and is deleted by that user when it stops. Weights come from
`load.resource_mix` (per operation, optionally per resource). Pure functions: no Locust import here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from rollout_gate.api.config import ApiConfig, ResourceConfig
from rollout_gate.api.resources import dig, fill, list_items
from rollout_gate.load.config import LoadConfig

Operation = Literal["list", "read", "create"]


@dataclass(frozen=True)
class ResourceTask:
    resource: ResourceConfig
    operation: Operation
    weight: int

    @property
    def name(self) -> str:
        """The Locust stats name: the resource, the operation and the declared path template."""
        path = self.resource.list_path if self.operation != "read" else self.resource.item_path
        return f"{self.resource.name} {self.operation} {path}"


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, Any] | None
    json: Any
    name: str


def resource_tasks(api: ApiConfig, load: LoadConfig) -> tuple[ResourceTask, ...]:
    """The declared resources' operations with a positive weight (empty: no resources, or the mix is off)."""
    mix = load.resource_mix
    unknown = sorted(set(mix.per_resource) - {r.name for r in api.resources})
    if unknown:
        known = ", ".join(r.name for r in api.resources) or "none declared"
        raise ValueError(f"load.resource_mix.per_resource: unknown resource(s) {', '.join(unknown)} (known: {known})")
    if not mix.enabled:
        return ()
    tasks = []
    for resource in api.resources:
        weights = mix.per_resource.get(resource.name, mix.weights)
        for operation in ("list", "read", "create"):
            weight = getattr(weights, operation)
            if weight > 0:
                tasks.append(ResourceTask(resource, operation, weight))  # type: ignore[arg-type]
    return tuple(tasks)


def _headers(resource: ResourceConfig, tenant: str) -> dict[str, str]:
    return {resource.tenant.header: tenant} if resource.tenant.header else {}


def call_for(task: ResourceTask, tenant: str, *, item: str | None = None, marker: str = "") -> Call:
    """The request of `task` for a member of `tenant` (`item`: the id a read asks for)."""
    resource = task.resource
    headers = _headers(resource, tenant)
    if task.operation == "read":
        if item is None:
            raise ValueError(f"{task.name}: a read needs an item id")
        path = str(fill(resource.item_path, {"tenant": tenant, "id": item}))
        return Call("GET", path, headers, None, None, task.name)
    path = str(fill(resource.list_path, {"tenant": tenant}))
    if task.operation == "list":
        return Call("GET", path, headers, dict(resource.list_query) or None, None, task.name)
    body = fill(resource.create, {"tenant": tenant, "marker": marker})
    return Call("POST", path, headers, None, body, task.name)


def delete_call(resource: ResourceConfig, tenant: str, item: str) -> Call:
    """Deleting what a virtual user created, when it stops."""
    path = str(fill(resource.item_path, {"tenant": tenant, "id": item}))
    return Call("DELETE", path, _headers(resource, tenant), None, None, f"{resource.name} cleanup {resource.item_path}")


def listed_ids(resource: ResourceConfig, body: Any) -> list[str]:
    """The ids a list response shows (what later reads ask for)."""
    found = (dig(entry, resource.id_field) for entry in list_items(resource, body) or [])
    return [str(item) for item in found if item not in (None, "")]


def created_id(resource: ResourceConfig, body: Any) -> str | None:
    item = dig(body, resource.id_field)
    return None if item in (None, "") else str(item)
