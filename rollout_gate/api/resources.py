"""Cross-tenant probes of the resources an environment file declares (`api.resources`), for any app.

An item of tenant A (created as A, or found where the environment forbids writes) is attacked with
tenant B's session: read, list, update, delete, create-into-A, header spoof, path spoof. Every attempt
must be refused (`refused_statuses`, default 403/404) and, judged by what A reads back afterwards,
must have changed nothing: a 200 that changed nothing is still "answered 200"; a 403 that changed the
item is a leak. Responses to B must not carry A's item id or tenant id (unless the request carried it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from rollout_gate.api.client import ApiClient, Session, describe
from rollout_gate.api.config import ResourceConfig

_PLACEHOLDER = re.compile(r"\{(tenant|id|marker)\}")


@dataclass(frozen=True)
class Actor:
    """A signed-in user acting for one tenant ("A" owns the probed item, "B" attacks it)."""

    label: str
    session: Session
    tenant: str


@dataclass(frozen=True)
class Attempt:
    name: str
    writes: bool
    what: str


ATTEMPTS: tuple[Attempt, ...] = (
    Attempt("read", False, "B reads A's item"),
    Attempt("list", False, "B lists (A's item must not appear)"),
    Attempt("header_spoof", False, "B's token with A's tenant header"),
    Attempt("path_spoof", False, "B's tenant in the path with A's item id"),
    Attempt("update", True, "B updates A's item"),
    Attempt("create_into_a", True, "B creates an item addressed to A"),
    # Destructive last: if it gets through, the attempts above have already run.
    Attempt("delete", True, "B deletes A's item"),
)


def not_applicable(resource: ResourceConfig, attempt: Attempt) -> str | None:
    """Why the environment file's declaration leaves nothing to try for `attempt` (None: it applies)."""
    by = resource.tenant.by
    if attempt.name == "update" and resource.update is None:
        return f"api.resources.{resource.name}: no update payload declared"
    if attempt.name == "create_into_a" and by == "token":
        return f"api.resources.{resource.name}: the tenant is implicit by token, so no request can address A"
    if attempt.name == "header_spoof" and by != "header":
        return f"api.resources.{resource.name}: the tenant is not addressed by a header"
    if attempt.name == "path_spoof" and by != "path":
        return f"api.resources.{resource.name}: the tenant is not addressed in the path"
    return None


def fill(value: Any, values: dict[str, str]) -> Any:
    """Replace `{tenant}`, `{id}`, `{marker}` in strings (recursively in lists and dicts)."""
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    return value


def dig(body: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        body = body.get(part) if isinstance(body, dict) else None
    return body


def list_items(resource: ResourceConfig, body: Any) -> list[Any] | None:
    """The items of a list response, or None if it has none where the declaration says."""
    if resource.items_field:
        found = dig(body, resource.items_field)
        return found if isinstance(found, list) else None
    if isinstance(body, list):
        return body
    for key in ("items", "data", "results"):
        if isinstance(body, dict) and isinstance(body.get(key), list):
            return list(body[key])
    return None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json() if response.content else None
    except ValueError:
        return response.text


@dataclass(frozen=True)
class Stored:
    """What A reads back of its item: compared before and after every attempt."""

    status: int
    body: Any

    @property
    def present(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class ResourceProbes:
    """The probes of one declared resource between tenants A and B, and the items they made (to clean up)."""

    client: ApiClient
    resource: ResourceConfig
    a: Actor
    b: Actor
    refused: tuple[int, ...]
    # A unique, run-prefixed string per call: the marker of every item this creates.
    marker: Callable[[], str]
    created: list[str] = field(default_factory=list)
    markers: list[str] = field(default_factory=list)
    item: str | None = None

    # -- requests --------------------------------------------------------------------------------
    def _headers(self, tenant: str | None) -> dict[str, str]:
        header = self.resource.tenant.header
        return {header: tenant} if header and tenant is not None else {}

    def call(
        self,
        actor: Actor,
        method: str,
        path: str,
        *,
        tenant: str | None,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """`path` (placeholders filled) as `actor`, the tenant addressed as the resource declares."""
        return self.client.request(
            method, path, session=actor.session, json=json, params=params, headers=self._headers(tenant)
        )

    def item_path(self, tenant: str, item: str) -> str:
        return str(fill(self.resource.item_path, {"tenant": tenant, "id": item}))

    def list_path(self, tenant: str) -> str:
        return str(fill(self.resource.list_path, {"tenant": tenant}))

    def _list_params(self) -> dict[str, Any] | None:
        return dict(self.resource.list_query) or None

    # -- A's own item ----------------------------------------------------------------------------
    def create(self) -> str:
        """A new item in tenant A, as A; its id (remembered for cleanup)."""
        marker = self.marker()
        body = fill(self.resource.create, {"tenant": self.a.tenant, "marker": marker})
        response = self.call(self.a, "POST", self.list_path(self.a.tenant), tenant=self.a.tenant, json=body)
        self.markers.append(marker)
        if not 200 <= response.status_code < 300:
            raise ValueError(f"{self.resource.name}: A cannot create an item: {describe(response)}")
        item = dig(_json(response), self.resource.id_field)
        if item in (None, ""):
            raise ValueError(f"{self.resource.name}: the create response has no {self.resource.id_field}")
        self.created.append(str(item))
        return str(item)

    def own_item(self, *, writes: bool) -> str | None:
        """A's item the attempts aim at: created (where writes are allowed) or found; again if one went missing."""
        if self.item is None or not self.stored(self.item).present:
            self.item = self.create() if writes else self.find()
        return self.item

    def find(self) -> str | None:
        """An existing item of tenant A, as A lists them (where writes are forbidden)."""
        response = self.call(
            self.a, "GET", self.list_path(self.a.tenant), tenant=self.a.tenant, params=self._list_params()
        )
        if not 200 <= response.status_code < 300:
            raise ValueError(f"{self.resource.name}: A cannot list its items: {describe(response)}")
        items = list_items(self.resource, _json(response))
        if items is None:
            where = self.resource.items_field or "the body, items, data or results"
            raise ValueError(f"{self.resource.name}: A's list response has no list in {where}")
        for entry in items:
            item = dig(entry, self.resource.id_field)
            if item not in (None, ""):
                return str(item)
        return None

    def stored(self, item: str) -> Stored:
        response = self.call(self.a, "GET", self.item_path(self.a.tenant, item), tenant=self.a.tenant)
        return Stored(response.status_code, _json(response))

    def ids_with_marker(self, marker: str) -> list[str]:
        """Ids of A's listed items whose JSON carries `marker` (what an attempt stored without saying so)."""
        response = self.call(
            self.a, "GET", self.list_path(self.a.tenant), tenant=self.a.tenant, params=self._list_params()
        )
        items = list_items(self.resource, _json(response)) or []
        found = [dig(entry, self.resource.id_field) for entry in items if marker in repr(entry)]
        return [str(item) for item in found if item not in (None, "")]

    def cleanup(self) -> list[str]:
        """Delete, as A, every item this made (also those a leaked create stored); what could not be deleted."""
        for marker in self.markers:
            for item in self.ids_with_marker(marker):
                if item not in self.created:
                    self.created.append(item)
        left = []
        for item in self.created:
            response = self.call(self.a, "DELETE", self.item_path(self.a.tenant, item), tenant=self.a.tenant)
            if not (200 <= response.status_code < 300 or response.status_code in (404, 410)):
                left.append(f"{self.resource.name} {item}: {describe(response)}")
        self.created.clear()
        self.markers.clear()
        return left

    # -- B's attempts ----------------------------------------------------------------------------
    def attempt(self, name: str, item: str) -> list[str]:
        """The problems of one attempt on A's `item` (empty: refused, nothing leaked, nothing changed)."""
        before = self.stored(item)
        if not before.present:
            own = f"A cannot read its own item {item} ({before.status})"
            return [f"{self.resource.name}: {own}: the probe proves nothing"]
        problems: list[str] = []
        markers = {item: f"{self.resource.name} id", self.a.tenant: "tenant id"}
        for label, response, expect_refused in self._requests(name, item):
            where = f"{self.resource.name}: {name} ({label})"
            status = response.status_code
            if expect_refused and status not in self.refused:
                wanted = "/".join(map(str, self.refused))
                problems.append(f"{where}: answered {status}, expected a refusal ({wanted})")
            elif not expect_refused and not 200 <= status < 300:
                problems.append(f"{where}: B's own list answered {status}, so the probe proves nothing")
            request = response.request
            header = self.resource.tenant.header
            asked = request.url.raw_path.decode() + request.content.decode(errors="replace")
            asked += request.headers.get(header, "") if header else ""
            leaked = sorted({what for value, what in markers.items() if value in response.text and value not in asked})
            if leaked:
                problems.append(f"{where}: the response carries A's {', '.join(leaked)}")
        after = self.stored(item)
        if after != before:
            change = f"{before.status} -> {after.status}" if after.status != before.status else "its content changed"
            problems.append(f"{self.resource.name}: {name} changed A's item {item} ({change})")
        if name == "create_into_a":
            problems += self._stored_into_a()
        return problems

    def _requests(self, name: str, item: str) -> Iterator[tuple[str, httpx.Response, bool]]:
        """(label, response, must be refused) for each request of attempt `name`."""
        a, b, by = self.a, self.b, self.resource.tenant.by
        # B addresses A's item: A's tenant in the path; B's own tenant in a header (the spoof is its own attempt).
        path_tenant = a.tenant if by == "path" else b.tenant
        header_tenant = b.tenant if by == "header" else None
        item_path = self.item_path(path_tenant, item)
        if name == "read":
            yield f"GET {self.resource.item_path}", self.call(b, "GET", item_path, tenant=header_tenant), True
        elif name == "list":
            own = self.call(b, "GET", self.list_path(b.tenant), tenant=header_tenant, params=self._list_params())
            yield f"GET {self.resource.list_path} in B's tenant", own, False
            if by == "path":
                other = self.call(b, "GET", self.list_path(a.tenant), tenant=None, params=self._list_params())
                yield f"GET {self.resource.list_path} with A's tenant", other, True
        elif name == "header_spoof":
            spoofed = self.call(b, "GET", item_path, tenant=a.tenant)
            yield f"GET {self.resource.item_path} with A's header", spoofed, True
            listed = self.call(b, "GET", self.list_path(b.tenant), tenant=a.tenant, params=self._list_params())
            yield f"GET {self.resource.list_path} with A's header", listed, True
        elif name == "path_spoof":
            mixed = self.item_path(b.tenant, item)
            yield f"GET {self.resource.item_path} with B's tenant", self.call(b, "GET", mixed, tenant=None), True
        elif name == "update":
            body = fill(self.resource.update, {"tenant": a.tenant, "id": item, "marker": self._new_marker()})
            changed = self.call(b, "PATCH", item_path, tenant=header_tenant, json=body)
            yield f"PATCH {self.resource.item_path}", changed, True
        elif name == "delete":
            yield f"DELETE {self.resource.item_path}", self.call(b, "DELETE", item_path, tenant=header_tenant), True
        elif name == "create_into_a":
            body = fill(self.resource.create, {"tenant": a.tenant, "marker": self._new_marker()})
            target = self.list_path(a.tenant) if by == "path" else self.list_path(b.tenant)
            response = self.call(b, "POST", target, tenant=a.tenant if by == "header" else None, json=body)
            yield f"POST {self.resource.list_path} addressed to A", response, True
        else:
            raise ValueError(f"unknown attempt {name!r}")

    def _new_marker(self) -> str:
        marker = self.marker()
        self.markers.append(marker)
        return marker

    def _stored_into_a(self) -> list[str]:
        marker = self.markers[-1]
        stored = self.ids_with_marker(marker)
        self.created += [item for item in stored if item not in self.created]
        if stored:
            return [f"{self.resource.name}: create_into_a stored an item in A ({', '.join(stored)}) for B's request"]
        return []
