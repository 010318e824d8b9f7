"""The `e2e:` block of an environment file: which browser, how it is launched, how long to wait."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

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


class E2eConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Empty: Playwright's own Chromium when installed, else the system's (Debian's /usr/bin/chromium).
    browser_executable: str | None = None
    launch_args: tuple[str, ...] = DEFAULT_ARGS
    # Playwright's default timeout for actions and expectations.
    timeout_ms: int = Field(default=10_000, ge=1000, le=120_000)
