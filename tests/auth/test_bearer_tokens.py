"""`bearer_tokens`: tokens issued beforehand (a Clerk/Auth0-managed user's), from a CSV or from variables;
the existing users are those with a token; a wrong token fails at sign-in where `verify_path` is set."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from rollout_gate.api.client import ApiClient, expect
from rollout_gate.auth import SignInError, sign_in
from rollout_gate.config import ConfigError, load_environment
from rollout_gate.config.models import AuthConfig
from rollout_gate.provisioning.existing import existing_users
from rollout_gate.reference_app.seed import SEED_PASSWORD
from tests.auth.conftest import SEEDED_USER

SECOND_USER = "user2@example.test"


def issued_token(url: str, email: str) -> str:
    """A token the app issued beforehand (as a hosted provider would have, outside the harness)."""
    with ApiClient(url) as client:
        return sign_in(AuthConfig(), client, email, SEED_PASSWORD).token


def env_file(tmp_path: Path, url: str, auth: str) -> Path:
    (tmp_path / "environments").mkdir(exist_ok=True)
    path = tmp_path / "environments" / "clerk.yaml"
    body = f"name: clerk\nkind: remote\ntarget:\n  base_url: {url}\n  auth:\n" + textwrap.indent(auth, "    ")
    path.write_text(body)
    return path


def test_tokens_from_a_csv_and_from_variables(reference_app_url: str, tmp_path: Path) -> None:
    first, second = issued_token(reference_app_url, SEEDED_USER), issued_token(reference_app_url, SECOND_USER)
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "tokens.csv").write_text(f"email,token\n{SEEDED_USER},{first}\n")
    auth = f"kind: bearer_tokens\ntokens_csv: tokens.csv\nverify_path: /auth/me\ntokens:\n  - email: {SECOND_USER}\n" \
           "    token: ${CLERK_TOKEN_USER2}\n"  # fmt: skip
    path = env_file(tmp_path, reference_app_url, auth)
    loaded = load_environment(path, {"CLERK_TOKEN_USER2": second})
    users = existing_users(loaded.env, path)
    assert [(u.email, u.token, u.password) for u in users] == [(SEEDED_USER, first, None), (SECOND_USER, second, None)]
    # A token from a variable is a secret of the run whatever the variable is called and whatever it looks like.
    opaque = load_environment(
        env_file(
            tmp_path, reference_app_url, "kind: bearer_tokens\ntokens:\n  - email: a@b.test\n    token: ${CLERK_A}\n"
        ),
        {"CLERK_A": "opaque-clerk-value-1"},
    )
    assert opaque.redact("token opaque-clerk-value-1") == "token ***"
    with ApiClient(reference_app_url) as client:
        for user in users:
            session = sign_in(loaded.env.target.auth, client, user.email, user.secret)
            assert expect(client.request("GET", "/auth/me", session=session), 200)["email"] == user.email
        # Without a secret, the token comes from target.auth.tokens.
        assert sign_in(loaded.env.target.auth, client, SECOND_USER, None).token == second


def test_a_wrong_or_missing_token_is_one_line(reference_app_url: str) -> None:
    auth = AuthConfig.model_validate({"kind": "bearer_tokens", "verify_path": "/auth/me",
                                      "tokens": [{"email": SEEDED_USER, "token": "stale-token-value"}]})  # fmt: skip
    host = reference_app_url.removeprefix("http://")
    with ApiClient(reference_app_url) as client:
        with pytest.raises(SignInError) as refused:
            sign_in(auth, client, SEEDED_USER, None)
        expected = f"bearer_tokens: the token of {SEEDED_USER} is refused by {host}: GET /auth/me -> 401"
        assert str(refused.value) == expected
        with pytest.raises(SignInError, match=f"^bearer_tokens: no token for {SECOND_USER} "):
            sign_in(auth, client, SECOND_USER, None)


def test_kind_specific_settings_are_validated(tmp_path: Path) -> None:
    cases = {
        "kind: supabase\n": "target.auth: apikey: kind supabase needs the project's anon key",
        "kind: bearer_tokens\n": "target.auth: kind bearer_tokens needs tokens_csv",
        "kind: oidc\ntoken_url: /token\nclient_id: c\n": "target.auth: token_url: kind oidc needs the token endpoint",
        "kind: oidc\ntoken_url: https://idp.test/t\n": "target.auth: client_id: kind oidc needs the OAuth2 client id",
        "kind: password_json\napikey: k\n": "target.auth: apikey: only read by kind supabase, not password_json",
        "kind: supabase\napikey: ${NOT_SET_ANON_KEY}\n": "target.auth.apikey: environment variable NOT_SET_ANON_KEY",
    }
    for auth, expected in cases.items():
        with pytest.raises(ConfigError) as refused:
            load_environment(env_file(tmp_path, "http://127.0.0.1:9", auth), {})
        assert expected in str(refused.value), (auth, str(refused.value))
