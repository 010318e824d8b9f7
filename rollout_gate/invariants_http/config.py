"""The `invariants.http` block of an environment file.

    invariants:
      http:
        - path: /admin/stats            # answers JSON numbers (nested objects: dotted names)
          method: GET
          auth: bearer                  # none | existing_user | bearer
          token: ${STATS_TOKEN}         # bearer only: a reference to a variable, never a literal
          checks:
            - {id: http_invariant_workspaces, expr: "personal_workspaces == users"}
            - {id: http_invariant_memberships, expr: "memberships >= organizations", action: warn}

Each check is its own go/no-go criterion (`action`: no_go by default, or warn / rollback), fed by one test.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from rollout_gate.invariants_http.expr import Comparison, ExpressionError, parse


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InvariantCheck(_Strict):
    # The criterion id (lower case, digits and _), e.g. http_invariant_workspaces.
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    expr: str
    title: str | None = None
    action: Literal["no_go", "warn", "rollback"] = "no_go"

    @field_validator("expr")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            parse(value)
        except ExpressionError as exc:
            raise ValueError(str(exc)) from None
        return value

    @property
    def comparison(self) -> Comparison:
        return parse(self.expr)


class InvariantEndpoint(_Strict):
    path: str = Field(pattern=r"^(/|https?://)")
    method: Literal["GET", "POST"] = "GET"
    auth: Literal["none", "existing_user", "bearer"] = "none"
    token: SecretStr | None = None
    checks: tuple[InvariantCheck, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _token(self) -> InvariantEndpoint:
        if self.auth == "bearer" and (self.token is None or not self.token.get_secret_value()):
            raise ValueError("auth: bearer needs token (a ${VARIABLE} holding it)")
        if self.auth != "bearer" and self.token is not None:
            raise ValueError(f"token is only read with auth: bearer (this endpoint has auth: {self.auth})")
        return self


class InvariantsConfig(_Strict):
    http: tuple[InvariantEndpoint, ...] = ()

    @model_validator(mode="after")
    def _unique_ids(self) -> InvariantsConfig:
        ids = [c.id for e in self.http for c in e.checks]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"check id {', '.join(twice)} is used twice: each check is its own criterion")
        return self
