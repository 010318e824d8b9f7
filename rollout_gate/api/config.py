"""The `api:` block of an environment file: the tenant-scoped endpoints the API isolation suite probes.

Paths and bodies may use placeholders filled with one test organization's ids: `{org}`,
`{client}`, `{project}`, `{time_entry}`, `{invitation}`, `{member}`. Leave `tenant_endpoints`
empty to probe the reference app's endpoints (`rollout_gate.api.endpoints.REFERENCE_ENDPOINTS`).

`resources` and `role_rules` describe any app (rollout_gate/api/resources.py, role_rules.py): their
paths and bodies take `{tenant}` (the tenant's id as the CSV gives it), `{id}` (the item's id) and
`{marker}` (a unique run-prefixed string, so leftovers are found by `rollout-gate sweep`'s prefix).

    api:
      tenant_users: {csv: ${STAGING_TENANT_USERS_CSV}}   # email,secret,tenant[,role]
      resources:
        - name: projects
          list_path: /api/organizations/{tenant}/projects
          item_path: /api/organizations/{tenant}/projects/{id}
          create: {name: "{marker}"}
          update: {name: "{marker}"}
          list_query: {limit: 500}
        - name: clients
          list_path: /api/current-org/clients
          item_path: /api/current-org/clients/{id}
          create: {name: "{marker}"}
          tenant: {by: header, header: X-Organization-Id}
      role_rules:
        - {role: viewer, method: POST, path: "/api/organizations/{tenant}/projects", body: {name: "{marker}"},
           expect: [403], resource: projects}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TenantEndpoint(_Strict):
    method: Method = "GET"
    path: str = Field(pattern=r"^/")
    body: dict[str, Any] | None = None


class TenantAddress(_Strict):
    """How a request names its tenant: `{tenant}` in the paths, a header, or implicitly by the token."""

    by: Literal["path", "header", "token"] = "path"
    # The header's name where `by: header` (e.g. X-Organization-Id).
    header: str | None = None

    @model_validator(mode="after")
    def _header_named(self) -> TenantAddress:
        if (self.by == "header") != (self.header is not None):
            raise ValueError("tenant.header is required with `by: header` and only allowed with it")
        return self


class ResourceConfig(_Strict):
    """One tenant-scoped resource of the app (`api.resources[]`)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    list_path: str = Field(pattern=r"^/")
    item_path: str = Field(pattern=r"^/.*\{id\}")
    # The JSON body that creates one (placeholders `{tenant}`, `{marker}`); the marker names it as the run's.
    create: dict[str, Any]
    # A change that the owner may make and another tenant must not (optional: no update probe without it).
    update: dict[str, Any] | None = None
    # The id in a created item's (or a listed item's) JSON; dotted for nested (`data.id`).
    id_field: str = "id"
    # Where a list response keeps its items (dotted); unset: the body itself if a list, else items/data/results.
    items_field: str | None = None
    # Query parameters of list requests (e.g. `{limit: 500}`, so the read-back sees every item).
    list_query: dict[str, str | int] = {}
    tenant: TenantAddress = TenantAddress()
    # Statuses that count as refused for this resource; unset: `api.refused_statuses`.
    refused_statuses: tuple[int, ...] | None = None

    @model_validator(mode="after")
    def _tenant_in_paths(self) -> ResourceConfig:
        has = ["{tenant}" in self.list_path, "{tenant}" in self.item_path]
        if self.tenant.by == "path" and not all(has):
            raise ValueError(f"{self.name}: `tenant.by: path` needs {{tenant}} in list_path and item_path")
        if self.tenant.by != "path" and any(has):
            raise ValueError(f"{self.name}: {{tenant}} in a path needs `tenant.by: path`")
        return self


class RoleRule(_Strict):
    """A role's permission (`api.role_rules[]`): that role's user in tenant A makes the call; the status must match."""

    role: str
    method: Method = "GET"
    path: str = Field(pattern=r"^/")
    body: dict[str, Any] | None = None
    # The statuses the call must answer (e.g. [403] for a refused write, [200] for an allowed read).
    expect: tuple[int, ...] = Field(min_length=1)
    # A declared resource: an item of it (created in tenant A, or found where writes are forbidden) fills
    # `{id}`, and a refused write is read back as A (item unchanged, nothing with the body's marker listed).
    resource: str | None = None
    # How reports name the rule; unset: `role METHOD path`. The tenant is addressed as the resource's is
    # (its header is sent when `resource:` addresses tenants by header).
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or f"{self.role} {self.method} {self.path}"

    @property
    def writes(self) -> bool:
        return self.method != "GET"


class TenantUsersConfig(_Strict):
    """Users of two tenants: a CSV `email,secret,tenant[,role]` (a header line), e.g. Clerk/Auth0-managed users.

    The secret is what `target.auth` signs in with (a password, or a token for token kinds); tenant A is the
    first tenant in the file, B the second (or `tenant_a`/`tenant_b`); each tenant's first row is its owner
    for the harness (creates and reads back the probed items)."""

    csv: str | None = None
    tenant_a: str | None = None
    tenant_b: str | None = None


class ApiConfig(_Strict):
    timeout: float = Field(default=10.0, gt=0, le=300)
    tenant_endpoints: tuple[TenantEndpoint, ...] = ()
    # What counts as "refused" when a member of one organization asks for another's resources.
    refused_statuses: tuple[int, ...] = (403, 404)
    # Tenant-scoped resources of any app, probed across tenants (tenant_isolation/api/test_declared_resources.py).
    resources: tuple[ResourceConfig, ...] = ()
    # Role permissions inside one tenant (suites/tenant_isolation/api/test_declared_role_rules.py).
    role_rules: tuple[RoleRule, ...] = ()
    tenant_users: TenantUsersConfig = TenantUsersConfig()

    @model_validator(mode="after")
    def _rules_name_resources(self) -> ApiConfig:
        names = [r.name for r in self.resources]
        if len(set(names)) != len(names):
            raise ValueError("api.resources: resource names must be unique")
        for rule in self.role_rules:
            if rule.resource is not None and rule.resource not in names:
                known = ", ".join(names) or "none declared"
                raise ValueError(f"api.role_rules: {rule.label}: unknown resource {rule.resource!r} (known: {known})")
            if "{id}" in rule.path and rule.resource is None:
                raise ValueError(f"api.role_rules: {rule.label}: {{id}} in the path needs `resource:`")
            if rule.writes and rule.resource is None:
                raise ValueError(
                    f"api.role_rules: {rule.label}: a write needs `resource:` (its item is read back as A, "
                    "and what an allowed write made is deleted)"
                )
        if (self.resources or self.role_rules) and not self.tenant_users.csv:
            raise ValueError(
                "api.resources and api.role_rules need users of two tenants: set api.tenant_users.csv "
                "(email,secret,tenant[,role])"
            )
        return self
