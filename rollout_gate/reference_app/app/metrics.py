"""Prometheus metrics: request counts by route and status, and a latency histogram by route.

Labels use the route template (`/api/organizations/{org_id}/projects`), never the raw path, so ids
do not explode the series count. Exposition is the plain text format, version 0.0.4.
"""

from __future__ import annotations

import re
import threading
import time
from collections import defaultdict
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "<unmatched>"
# `{org_id:uuid}` -> `{org_id}`: the label is the route as people write it.
_CONVERTOR = re.compile(r"\{(\w+):\w+\}")


class Registry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self.buckets: dict[tuple[str, str], list[int]] = {}
        self.sums: dict[tuple[str, str], float] = defaultdict(float)
        self.denied = 0

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, route, str(status))] += 1
            key = (method, route)
            counts = self.buckets.setdefault(key, [0] * (len(BUCKETS) + 1))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            counts[-1] += 1
            self.sums[key] += seconds

    def render(self) -> str:
        lines = [
            "# HELP http_requests_total HTTP requests by method, route template and status code.",
            "# TYPE http_requests_total counter",
        ]
        with self._lock:
            for (method, route, status), n in sorted(self.requests.items()):
                lines.append(f"http_requests_total{{{_labels(method=method, route=route, status=status)}}} {n}")
            lines += [
                "# HELP http_request_duration_seconds HTTP request latency by method and route template.",
                "# TYPE http_request_duration_seconds histogram",
            ]
            for (method, route), counts in sorted(self.buckets.items()):
                for bound, n in zip((*[repr(b) for b in BUCKETS], "+Inf"), counts, strict=True):
                    labels = _labels(method=method, route=route, le=bound)
                    lines.append(f"http_request_duration_seconds_bucket{{{labels}}} {n}")
                base = _labels(method=method, route=route)
                lines.append(f"http_request_duration_seconds_sum{{{base}}} {self.sums[(method, route)]:.6f}")
                lines.append(f"http_request_duration_seconds_count{{{base}}} {counts[-1]}")
        return "\n".join(lines) + "\n"


def _labels(**labels: str) -> str:
    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return ",".join(f'{k}="{escape(v)}"' for k, v in labels.items())


class MetricsMiddleware:
    """Pure ASGI middleware: times every HTTP request and records its route template and status."""

    def __init__(self, app: ASGIApp, registry: Registry) -> None:
        self.app = app
        self.registry = registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route: Any = scope.get("route")
            template = _CONVERTOR.sub(r"{\1}", getattr(route, "path", None) or UNMATCHED)
            self.registry.observe(scope["method"], template, status, time.perf_counter() - started)
