"""The `e2e:` block of an environment file: which browser, how it is launched, how long to wait, and the
routes that must load for a signed-in user within the page-load budget and without browser errors.

e2e:
  page_load_ms: 3000               # the runbooks' "page load < 3 s" (Navigation Timing), for every route
  sign_in:                         # how the browser gets a signed-in user for `auth: existing_user` routes
    cookie: sb-access-token        # the declared provider's token (target.auth) set as this cookie, or
    # local_storage: access_token  # ...stored under this localStorage key before any page script runs
  routes:
    - path: /dashboard
      name: dashboard              # default: from the path
      auth: existing_user          # none | existing_user (default)
      page_load_ms: 2000           # this route's own budget
      redirect_to: /sign-in        # the path it must end on (default: its own path)
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Headless Chromium in containers and CI: no sandbox (root, no user namespaces), no GPU, and no
# background traffic that could slow a run or phone home.
DEFAULT_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)

# [MDR] Key Metrics to Watch, Performance Metrics: "Page load times < 3s".
PAGE_LOAD_MS = 3000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class E2eRoute(_Strict):
    path: str = Field(pattern=r"^/")
    name: str = Field(default="", pattern=r"^[A-Za-z0-9_.-]*$")
    auth: Literal["none", "existing_user"] = "existing_user"
    # This route's budget; unset: e2e.page_load_ms.
    page_load_ms: int | None = Field(default=None, ge=1, le=120_000)
    # The path the page must end on after redirects (unset: its own path, without the query).
    redirect_to: str | None = Field(default=None, pattern=r"^/")

    @model_validator(mode="before")
    @classmethod
    def _named(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("name") and isinstance(data.get("path"), str):
            slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", data["path"].split("?")[0]).strip("-")
            data = {**data, "name": slug or "root"}
        return data


class BrowserSignIn(_Strict):
    """Where the browser keeps the declared provider's token (neither: a sign-in page object signs in)."""

    cookie: str | None = Field(default=None, min_length=1)
    local_storage: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one(self) -> BrowserSignIn:
        if self.cookie and self.local_storage:
            raise ValueError("e2e.sign_in: give cookie or local_storage, not both")
        return self


class E2eConfig(_Strict):
    # Empty: Playwright's own Chromium when installed, else the system's (Debian's /usr/bin/chromium).
    browser_executable: str | None = None
    launch_args: tuple[str, ...] = DEFAULT_ARGS
    # Playwright's default timeout for actions and expectations.
    timeout_ms: int = Field(default=10_000, ge=1000, le=120_000)
    # The page-load budget of every route (criterion page_load_time); a route may set its own.
    page_load_ms: int = Field(default=PAGE_LOAD_MS, ge=1, le=120_000)
    sign_in: BrowserSignIn = BrowserSignIn()
    routes: tuple[E2eRoute, ...] = ()

    @field_validator("routes")
    @classmethod
    def _unique_names(cls, value: tuple[E2eRoute, ...]) -> tuple[E2eRoute, ...]:
        names = [r.name for r in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"route names must be unique: {', '.join(duplicates)} (set name:)")
        return value

    def budget_ms(self, route: E2eRoute) -> int:
        return route.page_load_ms if route.page_load_ms is not None else self.page_load_ms


def targets_reference_app(env: Any) -> bool:
    """The environment says its target is the reference app (`target.app: reference`) or is the local one."""
    return bool(env.reference_app)
