"""The `load:` section of an environment file: who the virtual users are, what they do, and the bounds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LoadTask(_Strict):
    """One request of the typical mix. `{org_id}` in the path is one of the user's organizations."""

    name: str
    # `log_time` posts a time entry on one of the organization's projects (found through `projects_path`),
    # its note carrying the run's prefix so the harness can delete it afterwards.
    kind: Literal["request", "log_time"] = "request"
    method: Literal["GET", "POST", "PATCH", "DELETE"] = "GET"
    path: str
    weight: int = Field(default=1, ge=0)
    # JSON body for writes; `{now}` and `{user_id}` are filled in per request.
    json_body: dict[str, object] | None = None
    expect_status: tuple[int, ...] = (200, 201)


# The reference app's typical day: read projects, log time, open the dashboard, read org config.
DEFAULT_TASKS: tuple[LoadTask, ...] = (
    LoadTask(name="list projects", path="/api/organizations/{org_id}/projects?limit=20", weight=5),
    LoadTask(name="list time entries", path="/api/organizations/{org_id}/time-entries?limit=20", weight=3),
    LoadTask(name="org config", path="/api/organizations/{org_id}/config", weight=2),
    LoadTask(name="dashboard: recent entries", path="/api/me/recent-entries?limit=20", weight=3),
    LoadTask(name="organizations", path="/api/organizations", weight=1),
    LoadTask(
        name="log time",
        kind="log_time",
        method="POST",
        path="/api/organizations/{org_id}/time-entries",
        weight=1,
        expect_status=(201,),
    ),
)


class ResourceWeights(_Strict):
    """How often a virtual user lists, reads and creates one declared resource (relative weights, 0: never)."""

    list: int = Field(default=5, ge=0)
    read: int = Field(default=3, ge=0)
    create: int = Field(default=1, ge=0)


class ResourceMixConfig(_Strict):
    """The mix over `api.resources` (rollout_gate/load/resource_mix.py): used instead of `tasks` where the
    environment declares resources; the members come from `api.tenant_users.csv` unless a pool is given."""

    enabled: bool = True
    weights: ResourceWeights = ResourceWeights()
    # Per resource name, replacing `weights` for that resource.
    per_resource: dict[str, ResourceWeights] = {}
    # Roles (the CSV's role column) whose members only list and read: a refused create is no load error.
    read_only_roles: tuple[str, ...] = ("viewer",)


class LoadConfig(_Strict):
    # Virtual users, spawn rate and duration of the load phase's run (standalone runs take Locust's flags).
    users: int = Field(default=20, ge=1)
    spawn_rate: float = Field(default=10, gt=0)
    run_time_s: int = Field(default=30, ge=1)
    # Hard bounds on every run, standalone or not: the run stops at whichever comes first.
    max_requests: int = Field(default=50_000, ge=1)
    max_run_time_s: int = Field(default=1800, ge=1)
    # Locust worker processes for the load phase (0: one local process; >0: master + workers on loopback).
    workers: int = Field(default=0, ge=0)
    # The pool of test members: a CSV of email,password (staging), or sampled from the target's
    # membership table with the shared test password (local, or where the harness provisioned them).
    pool_csv: str | None = None
    pool_size: int = Field(default=40, ge=1)
    # "Error rate > 10% for 5 minutes": the window the sustained error rate is taken over.
    sustained_window_s: int = Field(default=300, ge=1)
    # Where `log_time` finds a project of the organization: `items[].id`.
    projects_path: str = "/api/organizations/{org_id}/projects?limit=1"
    # Where the API lists the signed-in user's organizations: `items[].id`.
    organizations_path: str = "/api/organizations"
    think_time_s: tuple[float, float] = (0.0, 0.2)
    tasks: tuple[LoadTask, ...] = DEFAULT_TASKS
    resource_mix: ResourceMixConfig = ResourceMixConfig()
    # Tenant-key names whose values in a response must be one of the user's organizations.
    tenant_fields: tuple[str, ...] = ("organization_id", "org_id")
    # Deletes what the virtual users wrote, given the run's prefix as %(prefix)s (a LIKE pattern).
    cleanup_sql: str | None = "delete from public.time_entries where note like %(prefix)s"
    # `rollout-gate sweep`: what killed load runs left in real tenants (pool_csv users write into their own
    # organizations, which no provisioning prefix matches), by the run prefix (%(pattern)s) and age.
    sweep_sql: str | None = (
        "delete from public.time_entries where note like %(pattern)s and created_at <= now() - %(older_than)s::interval"
    )
    count_sql: str | None = "select 'load rows', count(*) from public.time_entries where note like %(pattern)s"
    # Column of the user table holding the sign-in email (for sampling the pool from the database).
    user_email_column: str = "email"
