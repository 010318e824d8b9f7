"""Declared smoke endpoints: the config model, placeholders and every kind of expectation."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from rollout_gate.api.client import ApiClient, Session
from rollout_gate.smoke.config import SmokeConfig, SmokeEndpoint
from rollout_gate.smoke.runner import check_response, fill_path, run_endpoint

SESSION = Session(email="a@example.test", token="t0k3n", user_id="u-1")


def endpoint(**values: object) -> SmokeEndpoint:
    return SmokeEndpoint.model_validate({"name": "e", "path": "/x", **values})


def response(status: int, body: object = None, text: str | None = None) -> httpx.Response:
    request = httpx.Request("GET", "http://app/x")
    if text is not None:
        return httpx.Response(status, text=text, request=request)
    return httpx.Response(status, json=body, request=request)


def test_yaml_shape_single_status_json_alias_and_unique_names() -> None:
    e = endpoint(expect={"status": 201, "json": {"a.b": 1}, "json_present": ["c"]})
    assert e.expect.status == (201,) and e.expect.json_equals == {"a.b": 1}
    with pytest.raises(ValidationError, match="unique"):
        SmokeConfig.model_validate({"endpoints": [{"name": "a", "path": "/"}, {"name": "a", "path": "/b"}]})
    with pytest.raises(ValidationError):
        endpoint(auth="admin")


def test_expectations_name_exactly_what_is_wrong() -> None:
    e = endpoint(expect={"status": [200, 204], "json": {"user.role": "owner", "items.1": 2}, "json_present": ["x.y"]})
    assert check_response(e, response(200, {"user": {"role": "owner"}, "items": [1, 2], "x": {"y": None}})) == []
    problems = check_response(e, response(500, {"user": {"role": "viewer"}, "items": [1]}))
    assert problems[0].startswith("expected status 200 or 204, got GET /x -> 500")
    assert "JSON field 'user.role' is 'viewer', expected 'owner'" in problems
    assert "JSON field 'items.1' is missing" in problems and "JSON field 'x.y' is missing" in problems
    assert check_response(e, response(200, text="<html>")) == ["expected a JSON body, got GET /x -> 200: <html>"]
    contains = endpoint(expect={"body_contains": ["needle"]})
    assert check_response(contains, response(200, text="hay")) == ["the body does not contain 'needle'"]


def test_placeholders_need_auth_and_must_be_known() -> None:
    resolvers = {"user_id": lambda s: str(s.user_id)}
    assert fill_path("/u/{user_id}", SESSION, resolvers) == "/u/u-1"
    with pytest.raises(ValueError, match="needs auth"):
        fill_path("/u/{user_id}", None, resolvers)
    with pytest.raises(ValueError, match="unknown placeholder"):
        fill_path("/u/{nope}", SESSION, resolvers)


def test_run_endpoint_sends_the_token_and_absolute_urls_reach_other_hosts() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    client = ApiClient("http://app", transport=httpx.MockTransport(handler))
    ok = endpoint(path="https://functions.example.test/org-config", auth="existing_user", expect={"json": {"ok": True}})
    assert run_endpoint(client, ok, SESSION, {}) == []
    assert seen[0].url.host == "functions.example.test" and seen[0].headers["authorization"] == "Bearer t0k3n"
    failing = endpoint(name="broken", expect={"status": 204})
    assert run_endpoint(client, failing, None, {}) == ['broken: expected status 204, got GET /x -> 200: {"ok":true}']
