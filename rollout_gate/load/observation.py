"""What a load run observed, reduced from Locust's aggregated statistics.

Locust's master merges every worker's `num_reqs_per_sec` / `num_fail_per_sec`
and response-time histograms, so the same reduction serves a local run and a
distributed one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Failures whose message starts with this are cross-tenant leaks seen in a response body.
LEAK_PREFIX = "tenant-leak:"


@dataclass(frozen=True)
class Window:
    """The worst sliding window of a run: its error rate and where it starts."""

    rate: float
    start: int
    requests: int


@dataclass
class LoadObservation:
    requests: int
    failures: int
    duration_s: float
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    per_second: dict[int, tuple[int, int]] = field(default_factory=dict)  # unix second -> (requests, failures)
    login_requests: int = 0
    login_failures: int = 0
    leaks: int = 0
    leak_examples: list[str] = field(default_factory=list)

    @property
    def error_rate(self) -> float | None:
        return self.failures / self.requests if self.requests else None

    @property
    def login_failure_rate(self) -> float | None:
        return self.login_failures / self.login_requests if self.login_requests else None

    @property
    def rps(self) -> float | None:
        return self.requests / self.duration_s if self.duration_s > 0 else None

    def worst_window(self, seconds: int, min_requests: int = 1) -> Window | None:
        """The highest error rate over any `seconds`-long window; None if the run is shorter than one window.

        Seconds without traffic count as seconds, so "10% for 5 minutes" means five minutes of wall time.
        """
        if not self.per_second or seconds < 1:
            return None
        first, last = min(self.per_second), max(self.per_second)
        if last - first + 1 < seconds:
            return None
        worst: Window | None = None
        reqs = fails = 0
        for second in range(first, last + 1):
            r, f = self.per_second.get(second, (0, 0))
            reqs, fails = reqs + r, fails + f
            leaving = second - seconds
            if leaving >= first:
                r, f = self.per_second.get(leaving, (0, 0))
                reqs, fails = reqs - r, fails - f
            if second - first + 1 >= seconds and reqs >= min_requests:
                rate = fails / reqs
                if worst is None or rate > worst.rate:
                    worst = Window(rate=rate, start=second - seconds + 1, requests=reqs)
        return worst


def from_locust(stats: Any, *, login_name: str, duration_s: float) -> LoadObservation:
    """Reduce a `locust.stats.RequestStats` (on the master, or a local runner) to an observation."""
    total = stats.total
    seconds = set(total.num_reqs_per_sec) | set(total.num_fail_per_sec)
    per_second = {
        int(s): (int(total.num_reqs_per_sec.get(s, 0)), int(total.num_fail_per_sec.get(s, 0))) for s in seconds
    }
    login = [e for (name, _method), e in stats.entries.items() if name == login_name]
    leaks = [e for e in stats.errors.values() if str(e.error).startswith(LEAK_PREFIX)]
    has_samples = total.num_requests > 0
    return LoadObservation(
        requests=int(total.num_requests),
        failures=int(total.num_failures),
        duration_s=duration_s,
        p50_ms=float(total.get_response_time_percentile(0.5)) if has_samples else None,
        p95_ms=float(total.get_response_time_percentile(0.95)) if has_samples else None,
        p99_ms=float(total.get_response_time_percentile(0.99)) if has_samples else None,
        per_second=per_second,
        login_requests=sum(int(e.num_requests) for e in login),
        login_failures=sum(int(e.num_failures) for e in login),
        leaks=sum(int(e.occurrences) for e in leaks),
        leak_examples=[str(e.error)[:300] for e in leaks[:5]],
    )
