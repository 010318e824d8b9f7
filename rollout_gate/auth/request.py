"""What every provider shares: the request it sends (for any HTTP client), reading its answer, one-line refusals."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from rollout_gate.api.client import ApiError


class SignInError(ApiError):
    """A provider refused or answered something unusable; the message names the provider, never a secret."""


@dataclass(frozen=True)
class SignInRequest:
    """One sign-in call: `url` is a path on the target's base URL or an absolute URL (another host's endpoint)."""

    provider: str
    method: str
    url: str
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    json: dict[str, Any] | None = field(default=None, repr=False)
    # Form fields, sent `application/x-www-form-urlencoded` (RFC 6749's token requests).
    data: dict[str, str] | None = field(default=None, repr=False)

    def url_with_query(self) -> str:
        """`url` with `params` as its query string (for clients without a params argument, e.g. Locust's)."""
        if not self.params:
            return self.url
        return f"{self.url}{'&' if '?' in self.url else '?'}{urlencode(self.params)}"

    def encoded(self) -> tuple[bytes | None, dict[str, str]]:
        """The body as bytes and the headers with its content type: the same bytes whichever client sends them."""
        headers = {"Accept": "application/json", **self.headers}
        if self.json is not None:
            return json.dumps(self.json).encode(), {**headers, "Content-Type": "application/json"}
        if self.data is not None:
            return urlencode(self.data).encode(), {**headers, "Content-Type": "application/x-www-form-urlencoded"}
        return None, headers


def host_of(url: str, base_url: str | None = None) -> str:
    """`host:port` a request goes to (the base URL's for a path): what a refusal names."""
    parts = urlsplit(url if "://" in url else (base_url or ""))
    return parts.netloc.rsplit("@", 1)[-1] or "(no host)"


def field_at(body: Any, dotted: str) -> Any:
    """`body["data"]["session"]["jwt"]` for `data.session.jwt`; None where the path does not exist."""
    value = body
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def reason(status: int, body: Any, text: str) -> str:
    """The short reason an endpoint gives (`400 invalid_grant: Invalid login credentials`), never its whole body."""
    words: list[str] = []
    if isinstance(body, dict):
        for key in ("error_code", "error", "code"):
            if isinstance(body.get(key), str):
                words.append(body[key])
                break
        for key in ("error_description", "msg", "message", "detail"):
            if isinstance(body.get(key), str):
                words.append(body[key])
                break
    elif text.strip() and len(text.strip()) <= 80:
        words.append(text.strip())
    detail = ": ".join(w.replace("\n", " ")[:120] for w in words)
    return f"{status} {detail}" if detail else str(status)
