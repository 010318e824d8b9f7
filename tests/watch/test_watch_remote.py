"""The watch phase against a deployed-style environment (`kind: remote`) with the scrape source: allowed
where load is not, its action decided by the environment (production rolls back, staging blocks), and
no metric source at all is inconclusive. The endpoint is a real HTTP server on loopback serving
Prometheus text whose counters grow with time, at an error fraction the test chooses.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.rehearsal import rehearse


class Exposition:
    """Counters of a service answering `rps` requests a second, `error_fraction` of them 500s."""

    def __init__(self, error_fraction: float, rps: float = 50.0) -> None:
        self.started = time.monotonic()
        self.error_fraction = error_fraction
        self.rps = rps

    def text(self) -> str:
        n = (time.monotonic() - self.started) * self.rps + 100
        bad, ok = n * self.error_fraction, n * (1 - self.error_fraction)
        return (
            "# TYPE http_requests_total counter\n"
            f'http_requests_total{{route="/api/p",status="200"}} {ok:.0f}\n'
            f'http_requests_total{{route="/api/p",status="500"}} {bad:.0f}\n'
            f'http_requests_total{{route="/auth/sign-in",status="200"}} {n / 10:.0f}\n'
            "# TYPE http_request_duration_seconds histogram\n"
            f'http_request_duration_seconds_bucket{{route="/api/p",le="0.1"}} {n:.0f}\n'
            f'http_request_duration_seconds_bucket{{route="/api/p",le="+Inf"}} {n:.0f}\n'
            f'http_request_duration_seconds_sum{{route="/api/p"}} {n * 0.01:.3f}\n'
            f'http_request_duration_seconds_count{{route="/api/p"}} {n:.0f}\n'
        )


def serve(exposition: Exposition) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = exposition.text().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/metrics"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def failing() -> Iterator[str]:
    yield from serve(Exposition(error_fraction=0.3))


@pytest.fixture
def healthy() -> Iterator[str]:
    yield from serve(Exposition(error_fraction=0.0))


def env_file(tmp_path: Path, name: str, watch: dict[str, Any] | None) -> Path:
    env: dict[str, Any] = {
        "name": name,
        "kind": "remote",
        "target": {"base_url": "http://127.0.0.1:9", "connect_timeout": 1},
        "safety": {"allow_writes": False, "allow_load": False},
        "phases": {"enabled": ["watch"]},
    }
    if watch is not None:
        env["watch"] = watch
        # Watch criteria of the defaults this file does not watch: disabled, or they are inconclusive.
        env["criteria"] = {"disable": ["watch_error_rate_warn", "watch_login_failures", "watch_workspace_failures"]}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(env, sort_keys=False))
    return path


def watch_block(url: str, duration: str = "60s") -> dict[str, Any]:
    return {
        "scrape": {"endpoints": [url]},
        "interval": "1s",
        "duration": duration,
        "warmup": "5s",
        "signals": {"error_rate": {"window": "3s"}, "p95_ms": {"window": "3s"}},
        "criteria": [
            {"id": "watch_error_rate", "signal": "error_rate", "threshold": "<= 0.10", "for": "3s", "min_samples": 3},
            {"id": "watch_p95", "signal": "p95_ms", "threshold": "<= 1000", "for": "3s", "min_samples": 3},
        ],
        "source": "scrape",
    }


def test_production_watch_rolls_back_early_where_load_is_refused(failing: str, tmp_path: Path) -> None:
    started = time.monotonic()
    env = env_file(tmp_path, "production", watch_block(failing))
    run = rehearse(tmp_path / "reports", f"--env={env}", "--phase=watch", timeout=120)
    assert run.returncode == 10 and run.verdict == "ROLLBACK", run.output[-3000:]
    criterion = run.criterion("watch_error_rate")
    assert criterion["status"] == "fail" and criterion["action"] == "rollback"
    assert re.search(r"error_rate = 0\.[23]\d*, not <= 0\.1 for 3s", criterion["reason"]), criterion["reason"]
    assert time.monotonic() - started < 45, "the 60 s window did not end at the trigger"
    assert "remaining" in run.output  # the running display


def test_staging_watch_of_the_same_breach_blocks_promotion(failing: str, tmp_path: Path) -> None:
    env = env_file(tmp_path, "staging", watch_block(failing))
    run = rehearse(tmp_path / "reports", f"--env={env}", "--phase=watch", timeout=120)
    assert run.returncode == 1 and run.verdict == "NO_GO", run.output[-3000:]
    assert run.criterion("watch_error_rate")["action"] == "no_go"


def test_a_healthy_service_is_go_on_enough_samples(healthy: str, tmp_path: Path) -> None:
    env = env_file(tmp_path, "production", watch_block(healthy, duration="6s"))
    run = rehearse(tmp_path / "reports", f"--env={env}", "--phase=watch", timeout=120)
    assert run.returncode == 0 and run.verdict == "GO", run.output[-3000:]
    progress = json.loads((tmp_path / "reports" / "watch.json").read_text())
    assert progress["state"] == "done" and progress["source"] == "scrape"
    assert all(c["samples"] >= c["min_samples"] and c["state"] == "pass" for c in progress["criteria"])


def test_no_metric_source_is_inconclusive_naming_it(tmp_path: Path) -> None:
    env = env_file(tmp_path, "production", None)
    run = rehearse(tmp_path / "reports", f"--env={env}", "--phase=watch", timeout=120)
    assert run.returncode == 11 and run.verdict == "INCONCLUSIVE", run.output[-3000:]
    assert "no metric source" in run.criterion("watch_error_rate")["reason"]


def test_an_unreachable_scrape_endpoint_is_inconclusive(tmp_path: Path) -> None:
    watch = {**watch_block("http://127.0.0.1:9/metrics", duration="4s"), "warmup": "0s"}
    run = rehearse(tmp_path / "reports", f"--env={env_file(tmp_path, 'production', watch)}", "--phase=watch")
    assert run.returncode == 11, run.output[-3000:]
    reason = run.criterion("watch_error_rate")["reason"]
    assert "error_rate: scrape of 127.0.0.1:9/metrics failed: ConnectError" in reason
