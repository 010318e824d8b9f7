"""The `api:` block of an environment file: the tenant-scoped endpoints the API isolation suite probes.

Paths and bodies may use placeholders filled with one test organization's ids: `{org}`,
`{client}`, `{project}`, `{time_entry}`, `{invitation}`, `{member}`. Leave `tenant_endpoints`
empty to probe the reference app's endpoints (`rollout_gate.api.endpoints.REFERENCE_ENDPOINTS`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TenantEndpoint(_Strict):
    method: Method = "GET"
    path: str = Field(pattern=r"^/")
    body: dict[str, Any] | None = None


class ApiConfig(_Strict):
    timeout: float = Field(default=10.0, gt=0, le=300)
    tenant_endpoints: tuple[TenantEndpoint, ...] = ()
    # What counts as "refused" when a member of one organization asks for another's resources.
    refused_statuses: tuple[int, ...] = (403, 404)
