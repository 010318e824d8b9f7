"""Readiness: variables named never shown, versions and extensions, flags from a file or HTTP, headroom."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rollout_gate.local.target import LocalTarget
from rollout_gate.predeploy import pgtools, readiness
from rollout_gate.predeploy.config import FlagsConfig

TOKEN = "Bearer flags-token-5ecret"


def test_missing_variables_are_named_and_their_values_never_shown() -> None:
    environ = {"APP_JWT_SECRET": "s3cr3t-value", "APP_SMTP_PASSWORD": "  ", "APP_URL": "https://app"}
    missing = readiness.missing_variables(["APP_JWT_SECRET", "APP_SMTP_PASSWORD", "APP_DSN", "APP_URL"], environ)
    assert missing == ["APP_SMTP_PASSWORD", "APP_DSN"]


@pytest.mark.parametrize(
    ("version", "spec", "ok"),
    [("18.6", ">=14, <19", True), ("13.12", ">=14", False), ("19.0", "<19", False), ("16.2", "16", True),
     ("16.2", ">=16.3", False), ("1.8", ">=1.3", True)],
)  # fmt: skip
def test_version_ranges(version: str, spec: str, ok: bool) -> None:
    assert readiness.version_matches(version, spec) is ok


def test_invalid_version_range_is_an_error() -> None:
    with pytest.raises(ValueError, match="invalid version comparison"):
        readiness.version_matches("18.6", "~18")


def facts(**changes: object) -> readiness.ServerFacts:
    base = {
        "version": "18.6", "extensions": {"plpgsql": "1.0", "pgcrypto": "1.3"},
        "available": {"plpgsql", "pgcrypto", "citext"}, "max_connections": 100, "reserved": 3, "in_use": 20,
    }  # fmt: skip
    return readiness.ServerFacts(**{**base, **changes})  # type: ignore[arg-type]


def test_server_problems_name_version_and_extensions() -> None:
    assert readiness.server_problems(facts(), versions=">=14", required_extensions=["pgcrypto>=1.3"]) == []
    problems = readiness.server_problems(
        facts(version="13.4"), versions=">=14", required_extensions=["postgis", "pgcrypto>=1.4"],
        created_by_set=["citext", "vector"],
    )  # fmt: skip
    assert problems == [
        "server version 13.4 is outside >=14",
        "extension postgis is not installed",
        "extension pgcrypto 1.3 is outside >=1.4",
        "the migration set creates extension vector, which this server cannot install",
    ]


def test_extensions_created_by_a_set(tmp_path: Path) -> None:
    (tmp_path / "0001.sql").write_text('-- create extension nope;\ncreate extension if not exists "citext";\n')
    assert readiness.extensions_created([tmp_path / "0001.sql"]) == {"citext"}


def test_connection_headroom() -> None:
    assert readiness.connection_problems(facts(), min_free=10, min_free_ratio=0.2) == []
    problems = readiness.connection_problems(facts(in_use=90), min_free=10, min_free_ratio=0.2)
    assert problems[0].startswith("7 connections free, at least 10 needed: 90 of 97 usable connections in use")
    assert len(problems) == 2


def test_real_server_facts(seeded: LocalTarget) -> None:
    with pgtools.connect(seeded.database_url(), readonly=True) as conn:
        found = readiness.server_facts(conn)
    assert readiness.version_matches(found.version, ">=18")
    assert "plpgsql" in found.extensions and found.max_connections == 300 and found.in_use >= 1


def test_flags_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "flags.json").write_text(json.dumps({"maintenance_mode": True, "features": {"multi_tenant": False}}))
    config = FlagsConfig(file="flags.json", expected={"maintenance_mode": False, "features.multi_tenant": False})
    document = readiness.read_flags(config, tmp_path)
    assert readiness.flag_problems(document, config.expected) == ["maintenance_mode: true, expected false"]
    assert readiness.flag_problems(document, {"features.invitations": True}) == [
        "features.invitations: missing (expected true)"
    ]
    with pytest.raises(readiness.FlagsUnavailable, match="No such file"):
        readiness.read_flags(FlagsConfig(file="gone.json", expected={"x": 1}), tmp_path)


@pytest.fixture
def flag_server() -> Iterator[str]:
    """An endpoint that serves flags only with the right Authorization header."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.headers.get("Authorization") != TOKEN:
                self.send_response(401)
                self.end_headers()
                return
            body = json.dumps({"maintenance_mode": False, "features": {"multi_tenant": False}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/flags"
    server.shutdown()
    server.server_close()


def test_flags_from_an_http_endpoint_with_a_secret_header(flag_server: str) -> None:
    expected = {"maintenance_mode": False, "features.multi_tenant": False}
    good = FlagsConfig.model_validate({"url": flag_server, "auth_header": TOKEN, "expected": expected})
    assert readiness.flag_problems(readiness.read_flags(good, Path.cwd()), expected) == []
    wrong = FlagsConfig.model_validate({"url": flag_server, "auth_header": "Bearer wrong-token", "expected": expected})
    with pytest.raises(readiness.FlagsUnavailable, match="HTTP 401") as raised:
        readiness.read_flags(wrong, Path.cwd())
    assert "wrong-token" not in str(raised.value)
    with pytest.raises(readiness.FlagsUnavailable, match="unreachable"):
        readiness.read_flags(FlagsConfig(url="http://127.0.0.1:9/flags", expected=expected, timeout=1), Path.cwd())


def test_flags_config_needs_one_source_and_expectations() -> None:
    with pytest.raises(ValueError, match="either url or file, not both"):
        FlagsConfig(url="http://x", file="f.json", expected={"a": 1})
    with pytest.raises(ValueError, match="expected"):
        FlagsConfig(file="f.json")
    assert not FlagsConfig.model_validate({"url": "", "expected": {"a": 1}}).configured  # ${FLAGS_URL:-} unset
