"""A tiny non-reference app for the declared-resource proofs: notes kept in memory, the tenant in a header.

`POST /auth/sign-in` (password JSON -> access_token), `/notes` and `/notes/{id}` scoped by `X-Tenant`,
roles owner (writes) and viewer (reads). `defect` removes one protection:
- `read_any`: reading a note by id ignores the tenant (the header-spoof / direct-id bug);
- `write_then_refuse`: an update by another tenant is applied, then answered 403 (judged by what is stored);
- `viewer_writes`: viewers may create notes.
Served by uvicorn on a loopback port in a thread, for real HTTP.
"""

from __future__ import annotations

import itertools
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PASSWORD = "notes-pass-5521"
# email -> (tenant, role)
USERS = {
    "ann@a.test": ("tenant-a", "owner"),
    "vic@a.test": ("tenant-a", "viewer"),
    "bob@b.test": ("tenant-b", "owner"),
}


@dataclass
class Store:
    defect: str | None
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))


def build(store: Store) -> Starlette:
    def user(request: Request) -> tuple[str, str, str] | None:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        email = store.tokens.get(token)
        return (email, *USERS[email]) if email else None

    def scope(request: Request) -> tuple[str, str] | Response:
        who = user(request)
        if who is None:
            return JSONResponse({"error": "unauthorized"}, 401)
        tenant = request.headers.get("x-tenant")
        if tenant is None:
            return JSONResponse({"error": "X-Tenant is required"}, 400)
        if tenant != who[1]:
            return JSONResponse({"error": "not your tenant"}, 403)
        return tenant, who[2]

    async def sign_in(request: Request) -> Response:
        body = await request.json()
        if body.get("email") not in USERS or body.get("password") != PASSWORD:
            return JSONResponse({"error": "invalid credentials"}, 401)
        token = secrets.token_urlsafe(16)
        store.tokens[token] = body["email"]
        return JSONResponse({"access_token": token, "user": {"id": body["email"]}})

    async def notes(request: Request) -> Response:
        scoped = scope(request)
        if isinstance(scoped, Response):
            return scoped
        tenant, role = scoped
        if request.method == "POST":
            if role != "owner" and store.defect != "viewer_writes":
                return JSONResponse({"error": "viewers cannot write"}, 403)
            note = {"id": f"n{next(store.ids)}", "tenant": tenant, **(await request.json())}
            store.notes[note["id"]] = note
            return JSONResponse(note, 201)
        return JSONResponse({"data": [n for n in store.notes.values() if n["tenant"] == tenant]})

    async def note(request: Request) -> Response:
        found = store.notes.get(request.path_params["id"])
        if store.defect == "read_any" and request.method == "GET" and found and user(request):
            return JSONResponse(found)
        if store.defect == "write_then_refuse" and request.method == "PATCH" and found and user(request):
            found.update(await request.json())
        scoped = scope(request)
        if isinstance(scoped, Response):
            return scoped
        tenant, role = scoped
        if found is None or found["tenant"] != tenant:
            return JSONResponse({"error": "no such note"}, 404)
        if request.method == "GET":
            return JSONResponse(found)
        if role != "owner":
            return JSONResponse({"error": "viewers cannot write"}, 403)
        if request.method == "DELETE":
            del store.notes[found["id"]]
            return Response(status_code=204)
        found.update(await request.json())
        return JSONResponse(found)

    return Starlette(
        routes=[
            Route("/auth/sign-in", sign_in, methods=["POST"]),
            Route("/notes", notes, methods=["GET", "POST"]),
            Route("/notes/{id}", note, methods=["GET", "PATCH", "DELETE"]),
        ]
    )


@contextmanager
def serve(defect: str | None = None) -> Iterator[tuple[str, Store]]:
    """The app on a loopback port: (base URL, its store, to read what it really holds)."""
    store = Store(defect)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(build(store), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the notes app did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", store
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
