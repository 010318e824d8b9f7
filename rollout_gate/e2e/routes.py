"""Declared routes (`e2e.routes`) visited in a real browser: the page-load time from Navigation Timing, and
every console error, failed request and 5xx response the visit saw (the main document and subresources).

A visit is made once per route in a fresh context (cold cache, signed in as the route asks) and judged
twice: `load_time_problems` for criterion `page_load_time`, `browser_error_problems` for `browser_errors`.
What a finding quotes is bounded and masked: console text truncated and passed through the run's
Redactor, URLs without their query strings (which may carry tokens).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from rollout_gate.config.secrets import Redact
from rollout_gate.e2e.config import E2eConfig, E2eRoute

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Request, Response

# The navigation entry of the page's own document: its load event end, relative to the navigation start.
_NAVIGATION = """() => {
  const e = performance.getEntriesByType('navigation')[0];
  return e ? {start: e.startTime, end: e.loadEventEnd} : null;
}"""
_LOADED = "() => { const e = performance.getEntriesByType('navigation')[0]; return !!e && e.loadEventEnd > 0; }"
# After the load event: requests a page's scripts start late (fetches) are still this visit's.
_SETTLE_MS = 3000
MAX_TEXT = 160
MAX_LISTED = 5
_URL = re.compile(r"\b(https?://[^\s?#\"'<>]+)[?#][^\s\"'<>]*")

# Opens a context for a route's `auth` ("none" | "existing_user"): signed in as that route needs.
OpenContext = Callable[[str], "BrowserContext"]


def without_query(url: str) -> str:
    parts = urlsplit(url)
    if not parts.scheme:
        return url.split("?")[0].split("#")[0]
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def quoted(text: str, redact: Redact) -> str:
    """Console text as a finding may quote it: URLs without queries, masked, one line, truncated."""
    one_line = " ".join(_URL.sub(r"\1", redact(text)).split())
    return one_line if len(one_line) <= MAX_TEXT else one_line[: MAX_TEXT - 1] + "…"


@dataclass
class Visit:
    route: E2eRoute
    # Navigation Timing: loadEventEnd - startTime (None: the load event never ended).
    load_ms: float | None = None
    status: int | None = None
    final_path: str | None = None
    # The navigation itself failed (timeout, connection refused), in one line.
    error: str | None = None
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)


# Chromium fetches /favicon.ico for every page that names no icon; a 404 there logs a console error whether
# or not it arrives before the page closes, so counting it would make the same clean page pass or fail.
_IMPLICIT_ICON = "/favicon.ico"


def visit(context: BrowserContext, route: E2eRoute, config: E2eConfig, redact: Redact) -> Visit:
    """Open `route` in a new page of `context` and record what the browser saw until the page settled."""
    from playwright.sync_api import Error as PlaywrightError

    seen = Visit(route)
    page = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            where = (message.location or {}).get("url") or ""
            if urlsplit(where).path == _IMPLICIT_ICON:
                return  # the browser's own favicon fetch, which no page asked for: not the page's error
            at = f" (at {without_query(where)})" if where and where not in message.text else ""
            seen.console_errors.append(quoted(message.text + at, redact))

    def on_page_error(error: Exception) -> None:
        seen.console_errors.append(quoted(f"uncaught {error}", redact))

    def on_failed(request: Request) -> None:
        if urlsplit(request.url).path == _IMPLICIT_ICON and request.resource_type == "other":
            return
        why = quoted(request.failure or "failed", redact)
        seen.failed_requests.append(f"{request.method} {without_query(request.url)} ({why})")

    def on_response(response: Response) -> None:
        if response.status >= 500:
            seen.server_errors.append(f"{response.status} {response.request.method} {without_query(response.url)}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    page.on("requestfailed", on_failed)
    page.on("response", on_response)
    timeout = max(config.timeout_ms, 2 * config.budget_ms(route))
    try:
        response = page.goto(route.path, wait_until="load", timeout=timeout)
        if response is not None:
            seen.status = response.status
        page.wait_for_function(_LOADED, timeout=timeout)
        timing = page.evaluate(_NAVIGATION)
        if timing and timing["end"] > 0:
            seen.load_ms = float(timing["end"]) - float(timing["start"])
        seen.final_path = urlsplit(page.url).path or "/"
        # A page that keeps polling never idles; what it did in these seconds is recorded.
        with contextlib.suppress(PlaywrightError):
            page.wait_for_load_state("networkidle", timeout=_SETTLE_MS)
    except PlaywrightError as exc:
        seen.error = quoted(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, redact)
    finally:
        page.close()
    return seen


def _where(route: E2eRoute) -> str:
    return f"route {route.name} ({route.path})"


def load_time_problems(seen: Visit, config: E2eConfig) -> list[str]:
    budget = config.budget_ms(seen.route)
    if seen.load_ms is None:
        why = f": {seen.error}" if seen.error else ""
        return [f"{_where(seen.route)}: no page load time (the load event did not end){why}; budget {budget} ms"]
    if seen.load_ms >= budget:
        return [f"{_where(seen.route)}: page load {seen.load_ms:.0f} ms, budget < {budget} ms"]
    return []


def _listed(kind: str, items: list[str]) -> str:
    unique = list(dict.fromkeys(items))
    more = f" (+{len(unique) - MAX_LISTED} more)" if len(unique) > MAX_LISTED else ""
    return f"{len(items)} {kind}: " + "; ".join(unique[:MAX_LISTED]) + more


def browser_error_problems(seen: Visit) -> list[str]:
    where = _where(seen.route)
    problems = []
    if seen.error:
        problems.append(f"{where}: did not load: {seen.error}")
    if seen.status is not None and 400 <= seen.status < 500:
        problems.append(f"{where}: the page answered {seen.status}")
    expected = seen.route.redirect_to or urlsplit(seen.route.path).path
    if seen.final_path is not None and seen.final_path != expected:
        problems.append(f"{where}: ended on {seen.final_path}, not {expected}")
    if seen.server_errors:
        problems.append(f"{where}: " + _listed("5xx responses", seen.server_errors))
    if seen.failed_requests:
        problems.append(f"{where}: " + _listed("failed requests", seen.failed_requests))
    if seen.console_errors:
        problems.append(f"{where}: " + _listed("console errors", seen.console_errors))
    return problems


class RouteVisits:
    """Each declared route visited once per module (both criteria judge the same visit)."""

    def __init__(self, open_context: OpenContext, config: E2eConfig, redact: Redact) -> None:
        self.open_context = open_context
        self.config = config
        self.redact = redact
        self._seen: dict[str, Visit] = {}

    def of(self, route: E2eRoute) -> Visit:
        if route.name not in self._seen:
            context = self.open_context(route.auth)
            try:
                self._seen[route.name] = visit(context, route, self.config, self.redact)
            finally:
                context.close()
        return self._seen[route.name]


def new_context(browser: Browser, base_url: str, config: E2eConfig, **options: object) -> BrowserContext:
    context = browser.new_context(base_url=base_url, **options)  # type: ignore[arg-type]
    context.set_default_timeout(config.timeout_ms)
    return context
