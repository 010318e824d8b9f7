"""Browser contexts for one test, one per user, traced; on failure, screenshots and traces are kept."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page


def slug(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", nodeid).strip("-")[:150]


class AppBrowser:
    def __init__(self, browser: Browser, base_url: str, timeout_ms: int) -> None:
        self.browser = browser
        self.base_url = base_url
        self.timeout_ms = timeout_ms
        self.contexts: list[tuple[str, BrowserContext]] = []

    def new_page(self, label: str) -> Page:
        """A page in a fresh context: its own cookies, so a second user is a second context."""
        context = self.browser.new_context(base_url=self.base_url)
        context.set_default_timeout(self.timeout_ms)
        context.tracing.start(title=label, screenshots=True, snapshots=True)
        self.contexts.append((label, context))
        return context.new_page()

    def close(self, *, failed: bool, out_dir: Path) -> list[Path]:
        """Close every context; on failure keep a screenshot of each page and each context's trace."""
        kept: list[Path] = []
        for label, context in self.contexts:
            try:
                if failed:
                    out_dir.mkdir(parents=True, exist_ok=True)
                    for i, page in enumerate(context.pages):
                        shot = out_dir / f"{label}-page{i + 1}.png"
                        page.screenshot(path=str(shot), full_page=True, timeout=5000)
                        kept.append(shot)
                    trace = out_dir / f"{label}-trace.zip"
                    context.tracing.stop(path=str(trace))
                    kept.append(trace)
                else:
                    context.tracing.stop()
            finally:
                context.close()
        self.contexts.clear()
        return kept
