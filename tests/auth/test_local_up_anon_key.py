"""`rollout-gate local up` prints the reference app's anon key (ROLLOUT_LOCAL_ANON_KEY), and an environment's
`supabase` sign-in with `apikey: ${ROLLOUT_LOCAL_ANON_KEY}` and its printed users works against it."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from rollout_gate.api.client import ApiClient, expect
from rollout_gate.auth import SignInError, sign_in
from rollout_gate.config.models import AuthConfig
from tests.cli.test_local_up import LocalUpProcess, up_dir  # noqa: F401


def test_local_up_prints_the_anon_key_its_app_checks(up_dir: Path) -> None:  # noqa: F811
    up = LocalUpProcess(up_dir)
    try:
        variables = up.read_variables()
        key = variables["ROLLOUT_LOCAL_ANON_KEY"]
        assert key, variables
        with Path(variables["ROLLOUT_LOCAL_USERS_CSV"]).open(newline="") as handle:
            user = next(csv.DictReader(handle))
        auth = AuthConfig.model_validate({"kind": "supabase", "apikey": key})
        with ApiClient(variables["ROLLOUT_LOCAL_BASE_URL"]) as client:
            session = sign_in(auth, client, user["email"], user["password"])
            assert expect(client.request("GET", "/auth/me", session=session), 200)["email"] == user["email"]
            with pytest.raises(SignInError, match=r"-> 401 Invalid API key$"):
                sign_in(AuthConfig.model_validate({"kind": "supabase", "apikey": key + "x"}), client,
                        user["email"], user["password"])  # fmt: skip
    finally:
        assert up.terminate() == 0
        up.kill_leftovers()
