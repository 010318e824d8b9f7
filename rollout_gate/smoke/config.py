"""The `smoke:` block of an environment file: endpoints a team smoke-tests without writing Python.

smoke:
  endpoints:
    - name: org-config
      method: GET
      path: /api/organizations/{personal_org_id}/config   # or a full https:// URL
      auth: existing_user          # none | test_user | existing_user
      expect:
        status: 200                # or a list: [200, 204]
        json: {role: owner}        # dotted path -> expected value
        json_present: [permissions.write]
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rollout_gate.api.config import Method


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SmokeExpectation(_Strict):
    status: tuple[int, ...] = (200,)
    json_equals: dict[str, Any] = Field(default_factory=dict, alias="json")
    json_present: tuple[str, ...] = ()
    body_contains: tuple[str, ...] = ()

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("status", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, int) else value


class SmokeEndpoint(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    method: Method = "GET"
    path: str
    auth: Literal["none", "test_user", "existing_user"] = "none"
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = None
    expect: SmokeExpectation = SmokeExpectation()


class SmokeConfig(_Strict):
    endpoints: tuple[SmokeEndpoint, ...] = ()

    @field_validator("endpoints")
    @classmethod
    def _unique_names(cls, value: tuple[SmokeEndpoint, ...]) -> tuple[SmokeEndpoint, ...]:
        names = [e.name for e in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"endpoint names must be unique: {', '.join(duplicates)}")
        return value
