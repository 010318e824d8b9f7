"""Sliding-window error rates and the reduction of Locust statistics."""

from __future__ import annotations

import json
import subprocess
import sys

from rollout_gate.load.observation import LoadObservation


def observation(per_second: dict[int, tuple[int, int]]) -> LoadObservation:
    reqs = sum(r for r, _ in per_second.values())
    fails = sum(f for _, f in per_second.values())
    return LoadObservation(requests=reqs, failures=fails, duration_s=len(per_second), per_second=per_second)


def test_worst_window_finds_a_sustained_burst() -> None:
    seconds = {t: (100, 0) for t in range(1000, 1020)}
    seconds.update({t: (100, 30) for t in range(1008, 1013)})  # 5 s at 30% errors
    worst = observation(seconds).worst_window(5)
    assert worst is not None
    assert worst.rate == 0.3 and worst.start == 1008


def test_a_short_spike_does_not_fill_a_long_window() -> None:
    seconds = {t: (100, 0) for t in range(0, 600)}
    seconds[300] = (100, 100)  # one second of total failure
    worst = observation(seconds).worst_window(300)
    assert worst is not None and worst.rate < 0.01


def test_run_shorter_than_the_window_cannot_judge_it() -> None:
    assert observation({t: (10, 10) for t in range(60)}).worst_window(300) is None


def test_idle_seconds_count_as_wall_time() -> None:
    # Errors at both ends of a gap are not "sustained" over the gap.
    seconds = {0: (10, 10), 9: (10, 10)}
    worst = observation(seconds).worst_window(10)
    assert worst is not None and worst.rate == 1.0 and worst.requests == 20
    assert observation(seconds).worst_window(5, min_requests=11) is None


# Locust monkey-patches the standard library with gevent on import, which breaks a running pytest:
# the reduction of real Locust statistics is exercised in a subprocess, as the load phase runs Locust.
LOCUST_SCRIPT = """
import json
from locust.stats import RequestStats
from rollout_gate.load.observation import LEAK_PREFIX, from_locust

stats = RequestStats()
for ms in range(1, 101):
    stats.log_request("GET", "/api/projects", ms, 10)
stats.log_request("POST", "/auth/sign-in", 20, 10)
stats.log_request("POST", "/auth/sign-in", 20, 10)
stats.log_error("POST", "/auth/sign-in", "401")
stats.log_error("GET", "/api/projects", f"{LEAK_PREFIX} org 42 in body")
full = from_locust(stats, login_name="/auth/sign-in", duration_s=10)
empty = from_locust(RequestStats(), login_name="/auth/sign-in", duration_s=5)
print(json.dumps({"full": full.__dict__ | {"rps": full.rps}, "empty": empty.__dict__ | {"rate": empty.error_rate}}))
"""


def test_from_locust_counts_logins_leaks_and_percentiles() -> None:
    proc = subprocess.run([sys.executable, "-c", LOCUST_SCRIPT], capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    full, empty = result["full"], result["empty"]
    assert full["requests"] == 102 and full["failures"] == 2
    assert full["login_requests"] == 2 and full["login_failures"] == 1
    assert full["leaks"] == 1 and "org 42" in full["leak_examples"][0]
    assert full["p50_ms"] == 50 and 94 <= full["p95_ms"] <= 96
    assert full["rps"] == 10.2
    assert empty["requests"] == 0 and empty["p95_ms"] is None and empty["rate"] is None
