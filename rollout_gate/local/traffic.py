"""Bounded background traffic for the local watch window: a few seeded members using the reference app.

Production has real users during the watch; the rehearsal needs someone to make the metrics move.
A small httpx loop in a thread (not Locust): it starts at once, costs little CPU on a shared machine,
and keeps a steady mix that feeds every default signal (projects listing, sign-ins, the personal
workspace call). Loopback only; bounded by a request budget and a deadline; stopped with the window.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from rollout_gate.load.pool import Member
from rollout_gate.target import TargetError

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class TrafficStats:
    requests: int = 0
    errors: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    # time.monotonic() of the first 5xx or failed request: when users first saw the deploy go bad.
    first_error_at: float | None = None

    def summary(self, since: float) -> dict[str, object]:
        """For the progress file: counts, and the first error in seconds from `since` (the window's start)."""
        first = None if self.first_error_at is None else round(self.first_error_at - since, 3)
        return {"requests": self.requests, "errors": self.errors, "first_error_s": first}


class BackgroundTraffic:
    def __init__(
        self,
        base_url: str,
        members: Sequence[Member],
        password: str,
        *,
        max_requests: int = 20_000,
        max_seconds: float = 600.0,
        think_s: float = 0.05,
    ) -> None:
        host = urlsplit(base_url).hostname
        if host not in LOOPBACK:
            raise TargetError(f"background traffic is for the local target only, not {host}")
        if not members:
            raise TargetError("background traffic needs at least one member with an organization")
        self.base_url = base_url.rstrip("/")
        self.members = [m for m in members if m.org_ids] or list(members)
        self._password = password
        self.max_requests = max_requests
        self.max_seconds = max_seconds
        self.think_s = think_s
        self.stats = TrafficStats()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rollout-watch-traffic", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        with httpx.Client(base_url=self.base_url, timeout=10, trust_env=False) as client:
            tokens: dict[str, str] = {}
            cycle = 0
            while not self._stop.is_set() and time.monotonic() < deadline and self.stats.requests < self.max_requests:
                member = self.members[cycle % len(self.members)]
                if cycle % 3 == 0 or member.email not in tokens:
                    credentials = {"email": member.email, "password": self._password}
                    response = self._call(client, "POST", "/auth/sign-in", json=credentials)
                    if response is not None and response.status_code == 200:
                        tokens[member.email] = response.json()["access_token"]
                token = tokens.get(member.email)
                if token:
                    auth = {"Authorization": f"Bearer {token}"}
                    org = member.org_ids[cycle % len(member.org_ids)] if member.org_ids else None
                    if org:
                        self._call(client, "GET", f"/api/organizations/{org}/projects?limit=20", headers=auth)
                        self._call(client, "GET", f"/api/organizations/{org}/time-entries?limit=20", headers=auth)
                    self._call(client, "GET", "/api/organizations", headers=auth)
                    self._call(client, "POST", "/api/organizations/ensure-personal-workspace", headers=auth)
                cycle += 1
                self._stop.wait(self.think_s)

    def _call(self, client: httpx.Client, method: str, path: str, **kwargs: object) -> httpx.Response | None:
        if self._stop.is_set():
            return None
        self.stats.requests += 1
        response = None
        with contextlib.suppress(httpx.HTTPError):
            response = client.request(method, path, **kwargs)  # type: ignore[arg-type]
        status = response.status_code if response is not None else 0
        self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
        if status == 0 or status >= 500:
            self.stats.errors += 1
            if self.stats.first_error_at is None:
                self.stats.first_error_at = time.monotonic()
        return response
