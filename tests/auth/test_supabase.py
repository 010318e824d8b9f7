"""`supabase` against the reference app's Supabase-shaped /auth/v1/token: the password grant, the refresh grant,
the `apikey` header sent with every API call of the session, and each wrong secret refused in one line."""

from __future__ import annotations

import re

import httpx
import pytest

from rollout_gate.api.client import ApiClient, Session, expect
from rollout_gate.auth import SignInError, refresh, sign_in
from rollout_gate.config.models import AuthConfig
from rollout_gate.reference_app.app.settings import LOCAL_ANON_KEY
from rollout_gate.reference_app.seed import SEED_PASSWORD
from tests.auth.conftest import SEEDED_USER

SUPABASE = AuthConfig.model_validate({"kind": "supabase", "apikey": LOCAL_ANON_KEY})


class Recorder:
    """The headers of every request the client really sent (an httpx event hook), and the secrets it was given."""

    def __init__(self) -> None:
        self.sent: list[httpx.Request] = []
        self.secrets: list[str] = []

    def client(self, url: str) -> ApiClient:
        client = ApiClient(url, on_secret=self.secrets.append)
        client.http.event_hooks["request"].append(self.sent.append)
        return client


def test_password_grant_then_api_calls_carry_bearer_and_apikey(reference_app_url: str) -> None:
    recorder = Recorder()
    with recorder.client(reference_app_url) as client:
        session = sign_in(SUPABASE, client, SEEDED_USER, SEED_PASSWORD)
        assert session.email == SEEDED_USER and session.user_id and session.refresh_token
        token_call = recorder.sent[-1]
        assert token_call.url.path == "/auth/v1/token" and token_call.url.params["grant_type"] == "password"
        assert token_call.headers["apikey"] == LOCAL_ANON_KEY
        me = expect(client.request("GET", "/auth/me", session=session), 200)
        assert me == {"id": session.user_id, "email": SEEDED_USER}
        api_call = recorder.sent[-1]
        assert api_call.headers["apikey"] == LOCAL_ANON_KEY
        assert api_call.headers["authorization"] == f"Bearer {session.token}"
    # Everything secret was handed to the redactor as it became known.
    assert {LOCAL_ANON_KEY, session.token, session.refresh_token} <= set(recorder.secrets)


def test_the_app_checks_the_apikey_on_api_calls(reference_app_url: str) -> None:
    """The header really matters: the same bearer with a wrong apikey is refused (so sending it is proven)."""
    with ApiClient(reference_app_url) as client:
        session = sign_in(SUPABASE, client, SEEDED_USER, SEED_PASSWORD)
        wrong = Session(session.email, session.token, session.user_id, extra_headers=(("apikey", "not-the-key"),))
        assert client.request("GET", "/auth/me", session=wrong).status_code == 401
        assert client.request("GET", "/auth/me", session=session).status_code == 200


def test_refresh_grant_issues_a_new_working_session(reference_app_url: str) -> None:
    with ApiClient(reference_app_url) as client:
        first = sign_in(SUPABASE, client, SEEDED_USER, SEED_PASSWORD)
        renewed = refresh(SUPABASE, client, first)
        assert renewed.refresh_token and renewed.refresh_token != first.refresh_token
        assert expect(client.request("GET", "/auth/me", session=renewed), 200)["email"] == SEEDED_USER
        # A refresh token is not an access token, and an access token does not refresh.
        as_access = Session(SEEDED_USER, str(first.refresh_token), extra_headers=first.extra_headers)
        assert client.request("GET", "/auth/me", session=as_access).status_code == 401
        with pytest.raises(SignInError, match=r"^supabase refresh of user1@example.test refused by 127\.0\.0\.1:\d+"):
            refresh(SUPABASE, client, Session(SEEDED_USER, first.token, refresh_token=first.token))


@pytest.mark.parametrize(
    ("auth", "password", "expected"),
    [
        (SUPABASE, "wrong-password", r"-> 400 invalid_grant: Invalid login credentials$"),
        (AuthConfig.model_validate({"kind": "supabase", "apikey": "wrong-anon-key"}), SEED_PASSWORD,
         r"-> 401 Invalid API key$"),
    ],
    ids=["wrong-password", "wrong-apikey"],
)  # fmt: skip
def test_a_wrong_secret_is_one_line_naming_the_provider_and_host(
    reference_app_url: str, auth: AuthConfig, password: str, expected: str
) -> None:
    with ApiClient(reference_app_url) as client, pytest.raises(SignInError) as refused:
        sign_in(auth, client, SEEDED_USER, password)
    message = str(refused.value)
    host = reference_app_url.removeprefix("http://")
    assert message.startswith(f"supabase sign-in of {SEEDED_USER} refused by {host}: POST /auth/v1/token"), message
    assert "\n" not in message and password not in message and "wrong-anon-key" not in message
    assert re.search(expected, message), message


def test_the_endpoint_answers_the_supabase_shape(reference_app_url: str) -> None:
    url = reference_app_url + "/auth/v1/token"
    body = {"email": SEEDED_USER, "password": SEED_PASSWORD}
    ok = httpx.post(url, params={"grant_type": "password"}, json=body, headers={"apikey": LOCAL_ANON_KEY})
    assert ok.status_code == 200, ok.text
    payload = ok.json()
    assert set(payload) >= {"access_token", "token_type", "expires_in", "refresh_token", "user"}
    assert payload["token_type"] == "bearer" and payload["user"]["email"] == SEEDED_USER
    assert httpx.post(url, params={"grant_type": "password"}, json=body).status_code == 401  # no apikey
    bad = httpx.post(url, params={"grant_type": "password"}, json={**body, "password": "nope"},
                     headers={"apikey": LOCAL_ANON_KEY})  # fmt: skip
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
