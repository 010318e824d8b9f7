"""Kept Playwright traces carry no password, form body or session token: only their masked copy is kept."""

from __future__ import annotations

import json
import os
import shutil
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote_plus

import pytest

from rollout_gate.config.secrets import Redactor
from rollout_gate.e2e.session import AppBrowser, keep_trace, typed_secrets

PASSWORD = "Test-User Pw&42"  # registered by the provisioner (rollout_session.loaded.redact.add)
TYPED_ONLY = "Typed-Only-Secret-77"  # typed into a password field, known to nobody
OPAQUE_TOKEN = "opaque-session-token-0123456789"  # registered by the API client as it was issued
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEiLCJyb2xlIjoiYXV0aGVudGljYXRlZCJ9.c2lnbmF0dXJlLWJ5dGVz"
EMAIL = "owner@example.test"
CHROMIUM = "/usr/bin/chromium"


def member_texts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def leaks(data: bytes) -> list[str]:
    spellings = [PASSWORD, quote_plus(PASSWORD), TYPED_ONLY, OPAQUE_TOKEN, JWT, "Pw&42", "Pw%2642"]
    return [s for s in spellings if s.encode() in data]


def fake_trace(path: Path) -> Path:
    """A trace shaped like Playwright's: fill actions and a DOM snapshot, the sign-in POST, a JSON response."""
    events = [
        {"type": "before", "method": "fill", "params": {"selector": 'internal:label="Email"i', "value": EMAIL}},
        {"type": "before", "method": "fill", "params": {"selector": 'internal:label="Password"i', "value": PASSWORD}},
        {"type": "before", "method": "fill", "params": {"selector": "#new-password", "value": TYPED_ONLY}},
        {"type": "log", "message": f'  fill("{TYPED_ONLY}")'},
        {
            "type": "frame-snapshot",
            "snapshot": {
                "html": ["HTML", {}, ["BODY", {}, ["INPUT", {"type": "password", "__playwright_value_": TYPED_ONLY}]]]
            },
        },
    ]
    request = {
        "method": "POST",
        "url": "http://app/auth/sign-in",
        "headers": [{"name": "Authorization", "value": f"Bearer {OPAQUE_TOKEN}"}],
        "postData": {"text": f"email={quote_plus(EMAIL)}&password={quote_plus(PASSWORD)}"},
    }
    response = {"headers": [{"name": "Set-Cookie", "value": f"rg_session={JWT}; HttpOnly"}]}
    network = {"type": "resource-snapshot", "snapshot": {"request": request, "response": response}}
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("trace.trace", "\n".join(json.dumps(e) for e in events) + "\n")
        zf.writestr("trace.network", json.dumps(network) + "\n")
        zf.writestr("resources/0a1b.json", json.dumps({"access_token": JWT, "user": {"email": EMAIL}}))
        zf.writestr("screencast/page-1.jpeg", b"\xff\xd8\xff\xe0" + bytes(range(256)))
    return path


def test_a_kept_trace_has_typed_values_form_bodies_and_tokens_masked(tmp_path: Path) -> None:
    raw = fake_trace(tmp_path / "raw.zip")
    assert all(leaks(data) for name, data in member_texts(raw).items() if not name.endswith(".jpeg"))
    (tmp_path / "kept").mkdir()
    kept = keep_trace(raw, tmp_path / "kept" / "owner-trace.zip", Redactor([PASSWORD, OPAQUE_TOKEN]))
    assert not raw.exists()  # the unmasked trace is gone
    members = member_texts(kept)
    assert {name: leaks(data) for name, data in members.items() if leaks(data)} == {}
    assert EMAIL.encode() in members["trace.trace"]  # the trace is still worth opening
    assert members["screencast/page-1.jpeg"] == b"\xff\xd8\xff\xe0" + bytes(range(256))
    assert list((tmp_path / "kept").iterdir()) == [kept]


def test_typed_secrets_are_those_of_secret_fields_and_password_inputs() -> None:
    events = "\n".join(
        [
            json.dumps({"method": "fill", "params": {"selector": "#email", "value": EMAIL}}),
            json.dumps({"method": "type", "params": {"selector": "[name=api_key]", "text": "k-123456"}}),
            json.dumps({"method": "fill", "params": {"selector": "#Password", "value": "pw-654321"}}),
            json.dumps({"snapshot": {"html": ["INPUT", {"type": "PASSWORD", "__playwright_value_": "snap-pw"}]}}),
            "not json",
        ]
    )
    assert typed_secrets(events) == {"k-123456", "pw-654321", "snap-pw"}


PAGE = b"""<!doctype html><title>sign in</title>
<form method="post" action="/sign-in"><label>Email <input name="email"></label>
<label>Password <input type="password" name="password"></label><button>Sign in</button></form>"""


class _App(BaseHTTPRequestHandler):
    """A sign-in form; the POST answers with a session cookie and an access token, like the reference app."""

    def do_GET(self) -> None:
        self._send(200, "text/html", PAGE)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self._send(200, "application/json", json.dumps({"access_token": JWT, "echo": body.decode()}).encode())

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Set-Cookie", f"rg_session={JWT}; HttpOnly; Path=/")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def app_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _App)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason=f"no {CHROMIUM}")
def test_a_real_playwright_trace_of_a_failed_sign_in_is_kept_masked(
    app_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playwright.sync_api import sync_playwright

    from rollout_gate.e2e import session as e2e_session
    from rollout_gate.e2e.config import DEFAULT_ARGS

    unmasked = tmp_path / "unmasked-copy.zip"

    def keep_a_copy_first(raw: Path, target: Path, redact: Redactor) -> Path:
        shutil.copy(raw, unmasked)
        return keep_trace(raw, target, redact)

    monkeypatch.setattr(e2e_session, "keep_trace", keep_a_copy_first)
    out = tmp_path / "e2e" / "test_sign_in"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=list(DEFAULT_ARGS))
        try:
            session = AppBrowser(browser, app_url, 10_000, redact=Redactor([PASSWORD]))
            page = session.new_page("owner")
            page.goto("/")
            page.get_by_label("Email").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            with page.expect_navigation():
                page.get_by_role("button", name="Sign in").click()
            assert JWT in page.content()  # the proof is live: the token really was on the page
            kept = session.close(failed=True, out_dir=out)
        finally:
            browser.close()
    (trace,) = [p for p in kept if p.suffix == ".zip"]
    # The proof is live: Playwright recorded the password (fill, snapshot, form body) and the token.
    raw = member_texts(unmasked)
    assert {"Test-User Pw&42", "Test-User+Pw%2642", JWT} <= {s for data in raw.values() for s in leaks(data)}
    assert sorted(p.name for p in out.iterdir()) == ["owner-page1.png", "owner-trace.zip"]
    members = member_texts(trace)
    assert "trace.network" in members and EMAIL.encode() in members["trace.trace"]
    assert {name: leaks(data) for name, data in members.items() if leaks(data)} == {}
