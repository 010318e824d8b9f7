"""Ask an invariants endpoint for its numbers and judge one check against them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from rollout_gate.api.client import ApiClient, Session, describe
from rollout_gate.invariants_http.config import InvariantCheck, InvariantEndpoint
from rollout_gate.invariants_http.expr import Unknown


@dataclass(frozen=True)
class Verdict:
    """`holds` is None when the answer cannot decide (inconclusive); `message` says why or what was seen."""

    holds: bool | None
    message: str


def fetch(client: ApiClient, endpoint: InvariantEndpoint, session: Session | None) -> dict[str, Any] | str:
    """The endpoint's JSON object, or one line saying why there is none (never the token)."""
    headers = {}
    if endpoint.auth == "bearer":
        assert endpoint.token is not None
        headers["Authorization"] = f"Bearer {endpoint.token.get_secret_value()}"
    try:
        response = client.request(endpoint.method, endpoint.path, session=session, headers=headers)
    except httpx.HTTPError as exc:  # unreachable, timed out: one line, not a traceback
        return f"{endpoint.method} {endpoint.path}: {type(exc).__name__}"
    if response.status_code != 200:
        return f"expected 200: {describe(response)}"
    try:
        body = response.json()
    except ValueError:
        return f"expected a JSON object: {describe(response)}"
    if not isinstance(body, dict):
        return f"expected a JSON object, got {type(body).__name__}: {describe(response)}"
    return body


def judge(check: InvariantCheck, endpoint: InvariantEndpoint, answer: dict[str, Any]) -> Verdict:
    where = f"{endpoint.method} {endpoint.path}"
    try:
        outcome = check.comparison.evaluate(answer)
    except Unknown as exc:
        return Verdict(None, f"{check.id}: {check.expr}: {exc} ({where})")
    if outcome.holds:
        return Verdict(True, f"{check.expr} holds: {outcome.describe()}")
    return Verdict(False, f"{check.id}: {check.expr} is false: {outcome.describe()} ({where})")
