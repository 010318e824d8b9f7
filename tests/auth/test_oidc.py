"""`oidc` against a token endpoint the test serves itself (tests/auth/idp.py): the password and client
credentials grants, form-encoded with the client authenticated as RFC 6749 says, tokens the provider then
accepts, a refresh, and each wrong secret refused in one line naming the provider and the host."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from rollout_gate.api.client import ApiClient
from rollout_gate.auth import SignInError, refresh, sign_in
from rollout_gate.config.models import AuthConfig
from tests.auth.conftest import IDP_PASSWORD, IDP_USER
from tests.auth.idp import CLIENT_ID, Idp


def oidc(idp: Idp, **extra: Any) -> AuthConfig:
    fields = {"kind": "oidc", "token_url": idp.url + "/oauth/token", "client_id": CLIENT_ID,
              "client_secret": idp.client_secret, **extra}  # fmt: skip
    return AuthConfig.model_validate(fields)


def accepted_by_provider(idp: Idp, token: str) -> str:
    response = httpx.get(idp.url + "/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return str(response.json()["sub"])


@pytest.mark.parametrize("client_auth", ["basic", "post"])
def test_password_grant_signs_the_user_in(idp: Idp, client_auth: str) -> None:
    seen: list[str] = []
    with ApiClient("http://127.0.0.1:9", on_secret=seen.append) as client:  # the app is never called here
        session = sign_in(oidc(idp, client_auth=client_auth, scope="openid email"), client, IDP_USER, IDP_PASSWORD)
    assert idp.issued[session.token] == IDP_USER and accepted_by_provider(idp, session.token) == IDP_USER
    request = idp.token_requests[-1]
    assert request == {"content_type": "application/x-www-form-urlencoded", "grant": "password",
                       "client": f"{client_auth}:{CLIENT_ID}", "scope": "openid email", "audience": None}  # fmt: skip
    assert {idp.client_secret, session.token, session.refresh_token} <= set(seen)


def test_client_credentials_grant_signs_the_client_in(idp: Idp) -> None:
    auth = oidc(idp, grant="client_credentials", audience="https://api.example.test")
    with ApiClient("http://127.0.0.1:9") as client:
        session = sign_in(auth, client, "service@idp.test", None)
    assert accepted_by_provider(idp, session.token) == f"client:{CLIENT_ID}"
    assert idp.token_requests[-1]["grant"] == "client_credentials"
    assert idp.token_requests[-1]["audience"] == "https://api.example.test"


def test_refresh_token_grant(idp: Idp) -> None:
    auth = oidc(idp)
    with ApiClient("http://127.0.0.1:9") as client:
        first = sign_in(auth, client, IDP_USER, IDP_PASSWORD)
        renewed = refresh(auth, client, first)
        assert renewed.token != first.token and accepted_by_provider(idp, renewed.token) == IDP_USER
        with pytest.raises(SignInError, match=r"^oidc refresh of ada@idp.test refused by .*invalid_grant"):
            refresh(auth, client, first)  # a refresh token is used once


def test_a_custom_token_field_reads_an_id_token_style_answer(idp: Idp) -> None:
    """`token_field` picks which field is the access token (here the provider's access_token, spelled out)."""
    with ApiClient("http://127.0.0.1:9") as client:
        session = sign_in(oidc(idp, token_field="access_token"), client, IDP_USER, IDP_PASSWORD)
    assert session.token.startswith("at-")
    with ApiClient("http://127.0.0.1:9") as client, pytest.raises(SignInError, match=r"has no id_token$"):
        sign_in(oidc(idp, token_field="id_token"), client, IDP_USER, IDP_PASSWORD)


@pytest.mark.parametrize(
    ("change", "password", "expected"),
    [
        ({}, "wrong-password", "-> 400 invalid_grant: Wrong email or password"),
        ({"client_secret": "wrong-client-secret"}, IDP_PASSWORD, "-> 401 invalid_client: Client authentication failed"),
    ],
    ids=["wrong-password", "wrong-client-secret"],
)
def test_a_wrong_secret_is_one_line_naming_the_provider_and_host(
    idp: Idp, change: dict[str, str], password: str, expected: str
) -> None:
    with ApiClient("http://127.0.0.1:9") as client, pytest.raises(SignInError) as refused:
        sign_in(oidc(idp, **change), client, IDP_USER, password)
    message = str(refused.value)
    host = idp.url.removeprefix("http://")
    assert message == f"oidc sign-in of {IDP_USER} refused by {host}: POST /oauth/token {expected}", message


def test_an_unreachable_token_endpoint_is_one_line(idp: Idp) -> None:
    auth = AuthConfig.model_validate({"kind": "oidc", "token_url": "http://127.0.0.1:9/oauth/token",
                                      "client_id": CLIENT_ID})  # fmt: skip
    with ApiClient("http://127.0.0.1:9") as client, pytest.raises(SignInError) as refused:
        sign_in(auth, client, IDP_USER, IDP_PASSWORD)
    assert str(refused.value) == f"oidc sign-in of {IDP_USER}: cannot reach 127.0.0.1:9: ConnectError"
