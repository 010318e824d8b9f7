"""Tenant-scoped endpoints and their placeholders; the reference app's list is the default."""

from __future__ import annotations

import re
from typing import Any

from rollout_gate.api.config import ApiConfig, TenantEndpoint

PLACEHOLDERS = ("org", "client", "project", "time_entry", "invitation", "member")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")

ORG = "/api/organizations/{org}"


def _kind(segment: str, id_name: str, create: dict[str, Any], change: dict[str, Any]) -> list[TenantEndpoint]:
    base = f"{ORG}/{segment}"
    item = f"{base}/{{{id_name}}}"
    return [
        TenantEndpoint(method="GET", path=base),
        TenantEndpoint(method="POST", path=base, body=create),
        TenantEndpoint(method="GET", path=item),
        TenantEndpoint(method="PATCH", path=item, body=change),
        TenantEndpoint(method="DELETE", path=item),
    ]


REFERENCE_ENDPOINTS: tuple[TenantEndpoint, ...] = (
    TenantEndpoint(method="GET", path=f"{ORG}/config"),
    TenantEndpoint(method="GET", path=f"{ORG}/members"),
    TenantEndpoint(method="GET", path=f"{ORG}/invitations"),
    TenantEndpoint(method="POST", path=f"{ORG}/invitations", body={"email": "rg-probe@example.test", "role": "admin"}),
    TenantEndpoint(method="POST", path=f"{ORG}/invitations/{{invitation}}/resend"),
    TenantEndpoint(method="POST", path=f"{ORG}/invitations/{{invitation}}/revoke"),
    TenantEndpoint(method="PATCH", path=f"{ORG}/members/{{member}}", body={"role": "owner"}),
    *_kind("clients", "client", {"name": "rg-probe"}, {"name": "rg-probe"}),
    *_kind("projects", "project", {"name": "rg-probe", "client_id": "{client}"}, {"name": "rg-probe"}),
    *_kind(
        "time-entries",
        "time_entry",
        {"project_id": "{project}", "started_at": "2024-01-01T00:00:00Z"},
        {"note": "rg-probe"},
    ),
    TenantEndpoint(method="PATCH", path=ORG, body={"name": "rg-probe"}),
    # Destructive probes last: if they get through, the checks above have already run.
    TenantEndpoint(method="DELETE", path=f"{ORG}/members/{{member}}"),
    TenantEndpoint(method="DELETE", path=ORG),
)


def placeholders(endpoint: TenantEndpoint) -> set[str]:
    text = endpoint.path + (repr(endpoint.body) if endpoint.body is not None else "")
    return set(_PLACEHOLDER.findall(text))


def fill(value: Any, ids: dict[str, str]) -> Any:
    """Replace `{name}` in strings (recursively in lists and dicts) with `ids[name]`."""
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: _lookup(ids, m.group(1)), value)
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


def _lookup(ids: dict[str, str], name: str) -> str:
    if name not in ids:
        known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
        raise ValueError(f"unknown placeholder {{{name}}} in api.tenant_endpoints (known: {known})")
    return ids[name]


def endpoint_id(endpoint: TenantEndpoint) -> str:
    return f"{endpoint.method} {endpoint.path}"


def tenant_endpoints(config: ApiConfig | None) -> tuple[TenantEndpoint, ...]:
    """The environment's tenant-scoped endpoints, else the reference app's."""
    return (config.tenant_endpoints if config else ()) or REFERENCE_ENDPOINTS


def views(endpoints: tuple[TenantEndpoint, ...]) -> tuple[TenantEndpoint, ...]:
    """The GET endpoints: what shows a tenant's state."""
    return tuple(e for e in endpoints if e.method == "GET")
