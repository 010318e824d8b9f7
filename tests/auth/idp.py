"""A small identity provider on loopback for the sign-in self-tests: an OAuth2 token endpoint (RFC 6749 password,
client_credentials and refresh_token grants, the client authenticated by HTTP Basic or in the form body), a
userinfo endpoint that accepts only the tokens it issued, and a JSON sign-in of another shape than the
reference app's (`POST /login {login, pass}` -> `{data: {jwt, uid}}`). Real Starlette behind a real uvicorn."""

from __future__ import annotations

import base64
import contextlib
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote_plus

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

CLIENT_ID = "rg-selftest-client"


@dataclass
class Idp:
    """The provider's state: who may sign in, what it issued, and what the token requests looked like."""

    users: dict[str, str]
    client_secret: str = field(default_factory=lambda: "cs-" + secrets.token_urlsafe(24))
    issued: dict[str, str] = field(default_factory=dict)  # access token -> subject
    refresh: dict[str, str] = field(default_factory=dict)  # refresh token -> subject
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def _issue(self, subject: str, *, with_refresh: bool = True) -> dict[str, Any]:
        # Opaque tokens (not JWTs): masking them must come from the run's redactor, not from a JWT pattern.
        access = "at-" + secrets.token_urlsafe(24)
        self.issued[access] = subject
        body: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": 300}
        if with_refresh:
            refresh = "rt-" + secrets.token_urlsafe(24)
            self.refresh[refresh] = subject
            body["refresh_token"] = refresh
        return body

    def _client(self, request: Request, form: dict[str, str]) -> tuple[str | None, str]:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            client_id, _, secret = base64.b64decode(value).decode().partition(":")
            return unquote_plus(secret), f"basic:{unquote_plus(client_id)}"
        return form.get("client_secret"), f"post:{form.get('client_id')}"

    async def token(self, request: Request) -> JSONResponse:
        raw = (await request.body()).decode()
        form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        secret, client = self._client(request, form)
        self.token_requests.append(
            {
                "content_type": request.headers.get("content-type"),
                "grant": form.get("grant_type"),
                "client": client,
                "scope": form.get("scope"),
                "audience": form.get("audience"),
            }
        )
        if request.headers.get("content-type") != "application/x-www-form-urlencoded":
            return JSONResponse({"error": "invalid_request", "error_description": "form-encode the body"}, 400)
        if not client.endswith(f":{CLIENT_ID}") or secret != self.client_secret:
            return JSONResponse({"error": "invalid_client", "error_description": "Client authentication failed"}, 401)
        grant = form.get("grant_type")
        if grant == "password":
            user = form.get("username", "")
            if self.users.get(user) != form.get("password"):
                return JSONResponse({"error": "invalid_grant", "error_description": "Wrong email or password"}, 400)
            return JSONResponse(self._issue(user))
        if grant == "client_credentials":
            return JSONResponse(self._issue(f"client:{CLIENT_ID}", with_refresh=False))
        if grant == "refresh_token":
            subject = self.refresh.pop(form.get("refresh_token", ""), None)
            if subject is None:
                return JSONResponse({"error": "invalid_grant", "error_description": "Unknown refresh token"}, 400)
            return JSONResponse(self._issue(subject))
        return JSONResponse({"error": "unsupported_grant_type"}, 400)

    async def userinfo(self, request: Request) -> JSONResponse:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        subject = self.issued.get(token) if scheme.lower() == "bearer" else None
        if subject is None:
            return JSONResponse({"error": "invalid_token"}, 401)
        return JSONResponse({"sub": subject})

    async def login(self, request: Request) -> JSONResponse:
        body = await request.json()
        user = str(body.get("login", ""))
        if self.users.get(user) != body.get("pass"):
            return JSONResponse({"error": "bad_credentials", "message": "wrong login"}, 403)
        token = self._issue(user, with_refresh=False)["access_token"]
        return JSONResponse({"data": {"jwt": token, "uid": f"uid-{user}"}})

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/oauth/token", self.token, methods=["POST"]),
            Route("/userinfo", self.userinfo, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
        ])  # fmt: skip


@contextlib.contextmanager
def running_idp(users: dict[str, str]) -> Iterator[Idp]:
    """The provider served on 127.0.0.1 (a free port) by uvicorn in a thread, until the block ends."""
    idp = Idp(users)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    idp.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(idp.app(), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test identity provider did not start")
        time.sleep(0.02)
    try:
        yield idp
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
