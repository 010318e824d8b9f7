"""Browser contexts for one test, one per user, traced; on failure, screenshots and traces are kept.

A Playwright trace holds what the user typed (fill values, input values in DOM snapshots) and what
went over the wire (form bodies, session cookies, tokens in responses). A kept trace is written to a
temporary directory first and only its masked copy reaches the report directory: every text member
goes through the run's Redactor, which also learns the values typed into password, secret and token
fields of that trace.
"""

from __future__ import annotations

import json
import re
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rollout_gate.config.secrets import Redact, Redactor, redact_archive

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

# Playwright actions that type a value, and the selectors that say the value is a secret.
_TYPING = frozenset({"fill", "type", "pressSequentially"})
_SECRET_FIELD = re.compile(r"passw|secret|token|otp|api.?key", re.I)


def slug(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", nodeid).strip("-")[:150]


def typed_secrets(events: str) -> set[str]:
    """Values a trace's events (`trace.trace`, JSON lines) show typed into secret fields or password inputs."""
    found: set[str] = set()
    for line in events.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        params = event.get("params")
        if event.get("method") in _TYPING and isinstance(params, dict):
            value = params.get("value", params.get("text"))
            if isinstance(value, str) and _SECRET_FIELD.search(str(params.get("selector", ""))):
                found.add(value)
        snapshot = event.get("snapshot")
        if isinstance(snapshot, dict):
            found.update(_password_values(snapshot.get("html")))
    return found


def _password_values(node: Any) -> Iterator[str]:
    """`__playwright_value_` of password inputs in a DOM snapshot (nodes are `[tag, attrs, *children]`)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if not isinstance(current, list):
            continue
        if len(current) >= 2 and isinstance(current[0], str) and isinstance(current[1], dict):
            attrs = current[1]
            value = attrs.get("__playwright_value_")
            if isinstance(value, str) and str(attrs.get("type", "")).lower() == "password":
                yield value
        stack.extend(child for child in current if isinstance(child, list))


def keep_trace(raw: Path, target: Path, redact: Redact) -> Path:
    """Write `raw` (a Playwright trace) to `target` with every text member masked, and delete `raw`."""
    try:
        with zipfile.ZipFile(raw) as zf:
            typed = Redactor(
                value
                for name in zf.namelist()
                if name.endswith(".trace")
                for value in typed_secrets(zf.read(name).decode("utf-8", "replace"))
            )
        redact_archive(raw, target, lambda text: typed(redact(text)))
    finally:
        raw.unlink(missing_ok=True)
    return target


class AppBrowser:
    def __init__(self, browser: Browser, base_url: str, timeout_ms: int, *, redact: Redact) -> None:
        self.browser = browser
        self.base_url = base_url
        self.timeout_ms = timeout_ms
        self.redact = redact
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
                    with tempfile.TemporaryDirectory(prefix="rollout-trace-") as tmp:
                        raw = Path(tmp) / "trace.zip"
                        context.tracing.stop(path=str(raw))
                        kept.append(keep_trace(raw, out_dir / f"{label}-trace.zip", self.redact))
                else:
                    context.tracing.stop()
            finally:
                context.close()
        self.contexts.clear()
        return kept
