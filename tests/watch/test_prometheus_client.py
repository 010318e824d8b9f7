"""The Prometheus reader's handling of answers that are not one number, and of its bearer token.

The real Prometheus is in test_watch_local.py; Debian's cannot require a bearer token, so a small
HTTP server on loopback answers here with the API's JSON shapes and records what it was sent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr

from rollout_gate.watch.config import PrometheusSource, Signal
from rollout_gate.watch.prometheus import PrometheusReader

TOKEN = "tok-3f9c2a"


class Api:
    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, dict[str, Any]]] = {}
        self.auth: list[str | None] = []


def vector(*values: str) -> tuple[int, dict[str, Any]]:
    result = [{"metric": {"i": str(i)}, "value": [0, v]} for i, v in enumerate(values)]
    return 200, {"status": "success", "data": {"resultType": "vector", "result": result}}


@pytest.fixture
def api() -> Iterator[tuple[Api, str]]:
    state = Api()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.auth.append(self.headers.get("Authorization"))
            query = parse_qs(urlsplit(self.path).query)["query"][0]
            status, body = state.answers.get(query, vector())
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def reader(url: str) -> PrometheusReader:
    return PrometheusReader(PrometheusSource(url=url, bearer_token=SecretStr(TOKEN), timeout=2), interval=2)


def test_each_kind_of_missing_number_has_its_reason_and_the_token_is_sent(api: tuple[Api, str]) -> None:
    state, url = api
    signals = {
        "one": Signal(query="q_one"),
        "none": Signal(query="q_none"),
        "two": Signal(query="q_two"),
        "nan": Signal(query="q_nan"),
        "bad": Signal(query="q_bad"),
        "stale": Signal(query="q_one", series="old_series"),
        "fresh": Signal(query="q_one", series="new_series"),
    }
    state.answers = {
        "q_one": vector("0.25"),
        "q_two": vector("1", "2"),
        "q_nan": vector("NaN"),
        "q_bad": (400, {"status": "error", "errorType": "bad_data", "error": "parse error at char 3"}),
        "time() - max(timestamp(old_series))": vector("9.5"),
        "time() - max(timestamp(new_series))": vector("0.8"),
    }
    values = reader(url).sample(signals)
    assert values["one"] == 0.25 and values["fresh"] == 0.25
    assert values["none"] == "no series for q_none"
    assert values["two"] == "2 series for q_two (aggregate it to one)"
    assert values["nan"] == "q_nan is NaN (no requests in the window?)"
    assert values["bad"] == f"query error from Prometheus at {urlsplit(url).netloc}: parse error at char 3"
    assert values["stale"] == "series old_series is 9.5s old (older than two intervals)"
    assert set(state.auth) == {f"Bearer {TOKEN}"}
    assert all(TOKEN not in str(v) for v in values.values())


def test_an_unreachable_prometheus_names_host_and_port() -> None:
    values = reader("http://127.0.0.1:9").sample({"error_rate": Signal(query="up")})
    assert values["error_rate"] == "Prometheus unreachable at 127.0.0.1:9: ConnectError"


def test_the_token_is_masked_like_every_secret(tmp_path: Any) -> None:
    from rollout_gate.config import load_environment

    path = tmp_path / "prod.yaml"
    path.write_text(
        "kind: remote\nwatch:\n  prometheus:\n    url: http://127.0.0.1:9\n    bearer_token: ${PROM_TOKEN}\n"
    )
    loaded = load_environment(path, {"PROM_TOKEN": TOKEN})
    assert TOKEN not in loaded.redact(f"sent Bearer {TOKEN}")
    assert TOKEN not in repr(loaded.env.watch)
