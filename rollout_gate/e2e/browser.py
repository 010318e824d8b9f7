"""Which Chromium to launch, and with which options: Playwright's own when installed, else the system's."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rollout_gate.e2e.config import E2eConfig
from rollout_gate.errors import HarnessError

SYSTEM_CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


class BrowserUnavailable(HarnessError):
    """No usable browser: the E2E suite cannot run (it is skipped, so its criterion stays inconclusive)."""


def chromium_executable(config: E2eConfig, bundled: str | None) -> str | None:
    """The executable to pass to Playwright: None means "Playwright's own" (it is installed)."""
    if config.browser_executable:
        if not os.access(config.browser_executable, os.X_OK):
            raise BrowserUnavailable(f"e2e.browser_executable {config.browser_executable} is not an executable")
        return config.browser_executable
    if bundled and Path(bundled).is_file():
        return None
    for candidate in SYSTEM_CHROMIUM:
        if os.access(candidate, os.X_OK):
            return candidate
    raise BrowserUnavailable(
        "no Chromium: run `playwright install chromium`, or install Debian's chromium (scripts/system-deps.sh)"
    )


def launch_options(config: E2eConfig, bundled: str | None, *, headed: bool = False, slow_mo: int = 0) -> dict[str, Any]:
    options: dict[str, Any] = {"headless": not headed, "args": list(config.launch_args)}
    executable = chromium_executable(config, bundled)
    if executable:
        options["executable_path"] = executable
    if slow_mo:
        options["slow_mo"] = slow_mo
    return options
