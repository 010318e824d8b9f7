"""`e2e.routes` on an app that is not the reference app: a small Starlette app served on loopback by this
module, its pages judged by the shipped route checks in real Chromium (subprocess runs of `pytest --env=FILE`).

Pages: a clean one behind a cookie sign-in, one that logs a console error, one that fetches a 500
subresource, one whose image cannot be fetched, a slow one (two budgets), and a single-page app that reads
its token from localStorage. The browser signs in with the token the declared provider (`target.auth`,
password_json) hands out, set as the declared cookie or localStorage key, or through a team's page object
(`pytest_rollout_e2e_sign_in` in a plugin). No routes declared: both criteria are not applicable.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.rehearsal import ROOT, Rehearsal, rehearse

pytest.importorskip("playwright")

ROUTES = "suites/e2e/test_routes.py"
FLOWS = "suites/e2e/test_flows.py"
EMAIL, PASSWORD = "ada@example.test", "rg-routes-pass-9031"
TOKEN = "tok-" + secrets.token_hex(12)
LEAKED = "qs-secret-" + secrets.token_hex(6)


def _html(body: str) -> HTMLResponse:
    head = '<title>t</title><link rel="icon" href="data:,">'
    return HTMLResponse(f"<!doctype html><html><head>{head}</head><body>{body}</body></html>")


def _app() -> Starlette:
    async def sign_in(request: Request) -> Response:
        body = await request.json()
        if body.get("email") == EMAIL and body.get("password") == PASSWORD:
            return JSONResponse({"access_token": TOKEN, "user": {"id": "u1", "email": EMAIL}})
        return JSONResponse({"error": "invalid credentials"}, status_code=401)

    async def login_page(request: Request) -> Response:
        return _html(
            '<form method="post" action="/login"><label>Email <input name="email"></label>'
            '<label>Password <input name="password" type="password"></label><button>Log in</button></form>'
        )

    async def login(request: Request) -> Response:
        form = dict(item.split("=", 1) for item in (await request.body()).decode().split("&"))
        if form.get("email", "").replace("%40", "@") != EMAIL or form.get("password") != PASSWORD:
            return RedirectResponse("/login", status_code=303)
        response = RedirectResponse("/clean", status_code=303)
        response.set_cookie("app_token", TOKEN, httponly=True)
        return response

    async def clean(request: Request) -> Response:
        if request.cookies.get("app_token") != TOKEN:
            return RedirectResponse("/login", status_code=303)
        return _html('<p id="me">signed in</p><link rel="stylesheet" href="/style.css"><script>1 + 1;</script>')

    async def style(request: Request) -> Response:
        return Response("p { color: green }", media_type="text/css")

    async def console_error(request: Request) -> Response:
        text = f"https://cdn.test/a.js?key={LEAKED} boom " + "x" * 300
        return _html(f"<script>console.error('{text}')</script>")

    async def broken_fetch(request: Request) -> Response:
        return _html(f"<script>fetch('/api/data?token={LEAKED}')</script>")

    async def data(request: Request) -> Response:
        return JSONResponse({"error": "internal"}, status_code=500)

    async def unreachable(request: Request) -> Response:
        return _html('<img src="http://127.0.0.1:9/logo.png">')

    async def slow(request: Request) -> Response:
        await asyncio.sleep(1.3)
        return _html("<p>slow</p>")

    async def spa(request: Request) -> Response:
        return _html(
            "<script>fetch('/api/me', {headers: {Authorization: 'Bearer ' + localStorage.getItem('app_token')}})"
            ".then(r => { if (r.status !== 200) console.error('not signed in: ' + r.status); });</script>"
        )

    async def me(request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Response(status_code=204)  # not 4xx: the page itself says it is not signed in
        return JSONResponse({"email": EMAIL})

    return Starlette(
        routes=[
            Route("/auth/sign-in", sign_in, methods=["POST"]),
            Route("/login", login_page, methods=["GET"]),
            Route("/login", login, methods=["POST"]),
            Route("/clean", clean),
            Route("/style.css", style),
            Route("/console-error", console_error),
            Route("/broken-fetch", broken_fetch),
            Route("/api/data", data),
            Route("/unreachable", unreachable),
            Route("/slow", slow),
            Route("/spa", spa),
            Route("/api/me", me),
        ]
    )


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(_app(), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        threading.Event().wait(0.05)
    assert server.started, "the test app did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _run(
    tmp_path: Path, url: str, e2e: dict[str, Any], *args: str, extra_env: dict[str, str] | None = None
) -> tuple[Rehearsal, dict[str, str]]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    users = tmp_path / "users.csv"
    users.write_text(f"email,password\n{EMAIL},{PASSWORD}\n")
    env = {
        "name": "any-app",
        "kind": "remote",
        "target": {"base_url": url, "auth": {"kind": "password", "users_csv": str(users)}},
        "safety": {"allow_writes": False},
        "phases": {"enabled": ["post-deploy"]},
        "e2e": e2e,
    }
    env_file = tmp_path / "any-app.yaml"
    env_file.write_text(yaml.safe_dump(env))
    junit = tmp_path / "junit.xml"
    run = rehearse(tmp_path / "reports", f"--env={env_file}", f"--junitxml={junit}", *(args or (ROUTES,)),
                   extra_env=extra_env, timeout=300)  # fmt: skip
    return run, _messages(junit)


def _messages(junit: Path) -> dict[str, str]:
    """test id -> "passed" or its failure message, from the run's JUnit XML."""
    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = case.get("name", "")
        failure = case.find("failure")
        error = case.find("error")
        skipped = case.find("skipped")
        if failure is not None:
            out[name] = failure.get("message", "")
        elif error is not None:
            out[name] = "ERROR " + error.get("message", "")
        else:
            out[name] = "skipped" if skipped is not None else "passed"
    return out


def test_declared_routes_are_judged_on_what_the_browser_saw(app_url: str, tmp_path: Path) -> None:
    routes = [
        {"path": "/clean", "name": "clean"},
        {"path": "/clean", "name": "clean-anonymous", "auth": "none"},
        {"path": "/console-error", "auth": "none"},
        {"path": "/broken-fetch"},
        {"path": "/unreachable"},
        {"path": "/slow", "name": "slow-strict", "page_load_ms": 1000},
        {"path": "/slow", "name": "slow"},
    ]
    run, results = _run(tmp_path, app_url, {"sign_in": {"cookie": "app_token"}, "routes": routes})
    load, errors = "test_route_page_load_time", "test_route_browser_errors"
    assert all(results[f"{load}[{name}]"] == "passed" for name in ("clean", "console-error", "slow")), results
    assert all(results[f"{errors}[{name}]"] == "passed" for name in ("clean", "slow-strict", "slow")), results

    strict = results[f"{load}[slow-strict]"]
    assert "route slow-strict (/slow): page load" in strict and "budget < 1000 ms" in strict, strict
    measured = int(strict.split("page load ")[1].split(" ms")[0])
    assert 1300 <= measured < 3000, strict

    assert "route clean-anonymous (/clean): ended on /login, not /clean" in results[f"{errors}[clean-anonymous]"]
    console = results[f"{errors}[console-error]"]
    assert "1 console errors: https://cdn.test/a.js boom xxx" in console and "…" in console, console
    assert LEAKED not in console, console
    fetched = results[f"{errors}[broken-fetch]"]
    assert f"500 GET {app_url}/api/data" in fetched and LEAKED not in fetched, fetched
    assert "failed requests: GET http://127.0.0.1:9/logo.png" in results[f"{errors}[unreachable]"], results

    assert run.verdict == "NO_GO", run.output[-3000:]
    assert run.criterion("page_load_time")["status"] == "fail"
    assert run.criterion("browser_errors")["status"] == "fail"
    assert TOKEN not in run.output and PASSWORD not in run.output


def test_local_storage_token_and_a_page_object_sign_in(app_url: str, tmp_path: Path) -> None:
    spa = [{"path": "/spa", "name": "spa"}, {"path": "/spa", "name": "spa-anonymous", "auth": "none"}]
    run, results = _run(tmp_path / "storage", app_url, {"sign_in": {"local_storage": "app_token"}, "routes": spa})
    assert results["test_route_browser_errors[spa]"] == "passed", results
    assert "not signed in: 204" in results["test_route_browser_errors[spa-anonymous]"], results

    # A team's own sign-in page object, from a plugin (a conftest works the same way).
    plugin = tmp_path / "hook" / "team_sign_in.py"
    plugin.parent.mkdir()
    plugin.write_text(
        "from playwright.sync_api import expect\n"
        "class LoginPageShowsItsForm:\n"
        "    def run(self, rollout_browser, rollout_existing_user):\n"
        "        page = rollout_browser.new_page('login')\n"
        "        page.goto('/login')\n"
        "        expect(page.get_by_role('button', name='Log in')).to_be_visible()\n"
        "class DeletesAnAccount:\n"
        "    name = 'deletes-an-account'\n"
        "    destructive = True\n"
        "    def run(self, rollout_browser):\n"
        "        raise AssertionError('a destructive flow ran where writes are forbidden')\n"
        "def pytest_rollout_e2e_flows(config, environment):\n"
        "    return [LoginPageShowsItsForm, DeletesAnAccount]\n"
        "def pytest_rollout_e2e_sign_in(config, environment):\n"
        "    def sign_in(page, user):\n"
        "        page.goto('/login')\n"
        "        page.get_by_label('Email').fill(user.email)\n"
        "        page.get_by_label('Password').fill(user.password)\n"
        "        with page.expect_navigation():\n"
        "            page.get_by_role('button', name='Log in').click()\n"
        "    return sign_in\n"
    )
    clean = [{"path": "/clean", "name": "clean"}]
    run, results = _run(tmp_path / "hook", app_url, {"routes": clean}, "-p", "team_sign_in", ROUTES, FLOWS,
                        extra_env={"PYTHONPATH": f"{plugin.parent}:{ROOT}"})  # fmt: skip
    assert results == {
        "test_route_page_load_time[clean]": "passed",
        "test_route_browser_errors[clean]": "passed",
        # The team's flows, registered through the hook (the reference app's are not: this is not it).
        "test_flow[LoginPageShowsItsForm]": "passed",
    }, results
    flows = run.criterion("e2e_critical_flows")
    assert flows["status"] == "pass" and "forbids writes" in flows["observed"], flows
    assert run.verdict == "GO", run.output[-3000:]

    # Neither a declared key nor a page object: the signed-in routes fail saying what to declare.
    run, results = _run(tmp_path / "none", app_url, {"routes": clean}, ROUTES, FLOWS)
    assert "declare e2e.sign_in.cookie" in results["test_route_browser_errors[clean]"], results
    # No flows registered, and the file does not say the target is the reference app: not applicable.
    assert "test_flow[none-registered]" not in results, results  # listed in the gate, never run
    reason = run.criterion("e2e_critical_flows")["reason"]
    assert reason.startswith("not applicable here: no E2E flows registered"), reason
    assert run.verdict == "NO_GO"


def test_no_routes_declared_is_not_applicable(app_url: str, tmp_path: Path) -> None:
    run, _ = _run(tmp_path, app_url, {})
    for criterion in ("page_load_time", "browser_errors"):
        reason = run.criterion(criterion)["reason"]
        assert reason == "not applicable here: no e2e.routes declared in the environment file", json.dumps(run.gate)
