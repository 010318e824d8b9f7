"""`password_json` (and its alias `password`): the reference app's JSON sign-in, and an app of another shape
(path, request field names and the token's place in the answer configured)."""

from __future__ import annotations

import pytest

from rollout_gate.api.client import ApiClient, expect
from rollout_gate.auth import SignInError, sign_in
from rollout_gate.config.models import AuthConfig
from rollout_gate.reference_app.seed import SEED_PASSWORD
from tests.auth.conftest import IDP_PASSWORD, IDP_USER, SEEDED_USER
from tests.auth.idp import Idp


@pytest.mark.parametrize("kind", ["password_json", "password"])
def test_the_reference_apps_sign_in(reference_app_url: str, kind: str) -> None:
    auth = AuthConfig.model_validate({"kind": kind})
    assert auth.kind == "password_json"
    seen: list[str] = []
    with ApiClient(reference_app_url, on_secret=seen.append) as client:
        session = sign_in(auth, client, SEEDED_USER, SEED_PASSWORD)
        assert expect(client.request("GET", "/auth/me", session=session), 200)["email"] == SEEDED_USER
    assert session.user_id and session.token in seen and session.extra_headers == ()


def test_another_shape_configured(idp: Idp) -> None:
    shape = {"sign_in_path": "/login", "email_field": "login", "password_field": "pass", "token_field": "data.jwt"}
    auth = AuthConfig.model_validate({"kind": "password_json", **shape, "user_id_field": "data.uid"})
    seen: list[str] = []
    with ApiClient(idp.url, on_secret=seen.append) as client:
        session = sign_in(auth, client, IDP_USER, IDP_PASSWORD)
    assert idp.issued[session.token] == IDP_USER and session.user_id == f"uid-{IDP_USER}"
    assert session.token in seen  # not under a standard key: masked because the provider said it is the token


def test_a_wrong_password_is_one_line(reference_app_url: str) -> None:
    with ApiClient(reference_app_url) as client, pytest.raises(SignInError) as refused:
        sign_in(AuthConfig(), client, SEEDED_USER, "wrong-password")
    host = reference_app_url.removeprefix("http://")
    assert str(refused.value) == (
        f"password_json sign-in of {SEEDED_USER} refused by {host}: POST /auth/sign-in -> "
        "401 unauthorized: wrong email or password"
    )
