"""Run one declared smoke endpoint and say, in one line per problem, what is wrong with its answer."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from rollout_gate.api.client import ApiClient, Session, describe
from rollout_gate.smoke.config import SmokeEndpoint

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_MISSING = object()

# name -> how to compute it for a signed-in user (lazily: only paths that use it pay for it)
Resolver = Callable[[Session], str]


def fill_path(path: str, session: Session | None, resolvers: Mapping[str, Resolver]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in resolvers:
            raise ValueError(f"unknown placeholder {{{name}}} (known: {', '.join(sorted(resolvers))})")
        if session is None:
            raise ValueError(f"placeholder {{{name}}} needs auth: test_user or existing_user")
        return resolvers[name](session)

    return _PLACEHOLDER.sub(value, path)


def json_field(document: Any, dotted: str) -> Any:
    """`items.0.name` in a JSON document, or _MISSING."""
    current = document
    for part in dotted.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def check_response(endpoint: SmokeEndpoint, response: httpx.Response) -> list[str]:
    expect = endpoint.expect
    problems = []
    if response.status_code not in expect.status:
        wanted = " or ".join(map(str, expect.status))
        problems.append(f"expected status {wanted}, got {describe(response)}")
    if expect.json_equals or expect.json_present:
        try:
            document = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return [*problems, f"expected a JSON body, got {describe(response)}"]
        for dotted, wanted_value in expect.json_equals.items():
            actual = json_field(document, dotted)
            if actual is _MISSING:
                problems.append(f"JSON field {dotted!r} is missing")
            elif actual != wanted_value:
                problems.append(f"JSON field {dotted!r} is {actual!r}, expected {wanted_value!r}")
        for dotted in expect.json_present:
            if json_field(document, dotted) is _MISSING:
                problems.append(f"JSON field {dotted!r} is missing")
    for text in expect.body_contains:
        if text not in response.text:
            problems.append(f"the body does not contain {text!r}")
    return problems


def run_endpoint(
    client: ApiClient, endpoint: SmokeEndpoint, session: Session | None, resolvers: Mapping[str, Resolver]
) -> list[str]:
    """Problems found (empty: the endpoint passed). Absolute URLs reach other hosts (edge functions)."""
    path = fill_path(endpoint.path, session, resolvers)
    response = client.request(
        endpoint.method,
        path,
        token=session.token if session else None,
        json=endpoint.body,
        headers=dict(endpoint.headers),
    )
    return [f"{endpoint.name}: {problem}" for problem in check_response(endpoint, response)]
