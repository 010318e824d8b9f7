"""Tokens the API client receives are masked from the moment they are issued."""

from __future__ import annotations

import json

import httpx

from rollout_gate.api.client import ApiClient
from rollout_gate.config.secrets import Redactor

OPAQUE = "opaque-access-token-4d2f9a"  # not a JWT: only registration can mask it
REFRESH = "refresh-token-77b1c0"


def app(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/auth/sign-in":
        user = {"id": "u-1", "email": "a@b.test"}
        return httpx.Response(200, json={"access_token": OPAQUE, "refresh_token": REFRESH, "user": user})
    if request.url.path == "/auth/sign-up":
        return httpx.Response(201, json={"session": {"access_token": OPAQUE + "-2"}, "user": {"id": "u-2"}})
    return httpx.Response(200, json={"name": "token-bucket", "tokens": 3})


def test_issued_tokens_are_registered_with_the_redactor() -> None:
    redact = Redactor()
    with ApiClient("http://app", transport=httpx.MockTransport(app), on_secret=redact.add) as client:
        session = client.sign_in("a@b.test", "irrelevant-pw")
        assert session.token == OPAQUE
        assert redact(f"Bearer {OPAQUE}, refresh {REFRESH}") == "Bearer ***, refresh ***"
        body = client.request("POST", "/auth/sign-up", json={}).json()  # raw requests too (provisioning)
        assert redact(json.dumps(body)).count("***") == 1
        client.request("GET", "/api/x")
    assert len(redact) == len(Redactor([OPAQUE, REFRESH, OPAQUE + "-2"]))  # nothing else was taken for a secret


def test_without_a_redactor_the_client_works_as_before() -> None:
    with ApiClient("http://app", transport=httpx.MockTransport(app)) as client:
        assert client.sign_in("a@b.test", "irrelevant-pw").token == OPAQUE
