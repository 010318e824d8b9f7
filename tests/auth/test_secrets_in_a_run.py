"""A real run (`pytest --env=FILE` in a subprocess, as a team runs it) signing in through `supabase` and `oidc`:
the apikey, the client secret, the passwords and the tokens issued never reach stdout, the junit XML or the
gate files, even when a test puts them in its failure message; a wrong secret is one line naming the provider
and the host, with no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rollout_gate.reference_app.app.settings import LOCAL_ANON_KEY
from rollout_gate.reference_app.seed import SEED_PASSWORD
from tests.auth.conftest import SEEDED_USER
from tests.auth.idp import CLIENT_ID, Idp

ENV = """\
name: {name}
kind: remote
target:
  base_url: ${{APP_URL}}
  auth:
{auth}
    users_csv: users.csv
safety:
  allow_writes: false
"""
SUPABASE = "    kind: supabase\n    apikey: ${SB_ANON_KEY}"
OIDC = (
    "    kind: oidc\n    token_url: ${IDP_URL}/oauth/token\n    client_id: ${IDP_CLIENT_ID}\n"
    "    client_secret: ${IDP_CLIENT_SECRET}"
)
TESTS = """\
from rollout_gate.api.client import expect

WHO_AM_I = {"supabase": "/auth/me", "oidc": "/userinfo"}


def test_the_user_is_signed_in(rollout_api, rollout_env, rollout_existing_session):
    session = rollout_existing_session
    answer = expect(rollout_api.request("GET", WHO_AM_I[rollout_env.target.auth.kind], session=session), 200)
    assert answer.get("email", answer.get("sub")) == session.email
    print("signed in with", session.token, session.refresh_token, session.headers())


def test_a_careless_failure_message(rollout_existing_session):
    session = rollout_existing_session
    assert False, f"token={session.token} refresh={session.refresh_token} headers={session.headers()}"
"""


def run(tmp_path: Path, name: str, auth: str, variables: dict[str, str]) -> tuple[int, str, Path]:
    project = tmp_path / name
    (project / "environments").mkdir(parents=True)
    (project / "environments" / f"{name}.yaml").write_text(ENV.format(name=name, auth=auth))
    (project / "environments" / "users.csv").write_text(f"email,password\n{SEEDED_USER},{SEED_PASSWORD}\n")
    (project / "conftest.py").write_text("")
    (project / "test_signed_in.py").write_text(TESTS)
    reports = project / "reports"
    # -rA: the captured output of every test is printed too (it must be masked like the rest).
    argv = [sys.executable, "-m", "pytest", f"--env={name}", f"--report-dir={reports}",
            f"--junitxml={reports}/junit.xml", "-p", "no:cacheprovider", "-p", "no:playwright", "-rA"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLOUT_", "PYTEST_"))}
    result = subprocess.run(argv, cwd=project, env={**env, **variables}, capture_output=True, text=True, timeout=300)
    return result.returncode, result.stdout + result.stderr, reports


def written(reports: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted(reports.rglob("*")) if p.is_file())


def assert_nowhere(secrets: list[str], output: str, reports: Path) -> None:
    files = written(reports)
    assert "junit.xml" in {p.name for p in reports.iterdir()} and "gate.json" in {p.name for p in reports.iterdir()}
    for secret in secrets:
        assert secret not in output, f"a secret in the run's output:\n{output}"
        assert secret not in files, "a secret in the report files"


def test_supabase_secrets_stay_out_of_the_run(reference_app_url: str, tmp_path: Path) -> None:
    code, output, reports = run(tmp_path, "sb", SUPABASE, {"APP_URL": reference_app_url, "SB_ANON_KEY": LOCAL_ANON_KEY})
    assert "1 failed, 1 passed" in output, output
    assert "token=*** refresh=*** headers={'Authorization': 'Bearer ***', 'apikey': '***'}" in output, output
    # The tokens are JWTs, masked by pattern too: prove the run learned them (no JWT prefix anywhere).
    assert_nowhere([LOCAL_ANON_KEY, SEED_PASSWORD, "eyJ"], output, reports)
    assert code == 1


def test_oidc_secrets_stay_out_of_the_run(idp: Idp, tmp_path: Path) -> None:
    before = set(idp.issued) | set(idp.refresh)
    variables = {"APP_URL": idp.url, "IDP_URL": idp.url, "IDP_CLIENT_ID": CLIENT_ID,
                 "IDP_CLIENT_SECRET": idp.client_secret}  # fmt: skip
    code, output, reports = run(tmp_path, "idp", OIDC, variables)
    assert "1 failed, 1 passed" in output, output
    issued = sorted((set(idp.issued) | set(idp.refresh)) - before)
    assert issued, "the run signed in through the test's provider"
    # Opaque tokens: only the run's redactor (fed by the provider) can have masked them.
    assert_nowhere([idp.client_secret, SEED_PASSWORD, *issued], output, reports)
    assert code == 1


def test_a_wrong_secret_fails_in_one_line(reference_app_url: str, idp: Idp, tmp_path: Path) -> None:
    host = reference_app_url.removeprefix("http://")
    code, output, reports = run(
        tmp_path, "sb", SUPABASE, {"APP_URL": reference_app_url, "SB_ANON_KEY": "wrong-anon-key-1"}
    )
    line = (f"existing user {SEEDED_USER} cannot sign in: supabase sign-in of {SEEDED_USER} refused by {host}: "
            "POST /auth/v1/token -> 401 Invalid API key")  # fmt: skip
    assert output.count(line) >= 2 and "Traceback" not in output and "rollout_gate/auth" not in output, output
    assert_nowhere(["wrong-anon-key-1"], output, reports)
    assert code == 1

    variables = {"APP_URL": idp.url, "IDP_URL": idp.url, "IDP_CLIENT_ID": CLIENT_ID, "IDP_CLIENT_SECRET": "wrong-cs-1"}
    code, output, reports = run(tmp_path / "oidc", "idp", OIDC, variables)
    line = (
        f"existing user {SEEDED_USER} cannot sign in: oidc sign-in of {SEEDED_USER} refused by "
        f"{idp.url.removeprefix('http://')}: POST /oauth/token -> 401 invalid_client: Client authentication failed"
    )
    assert output.count(line) >= 2 and "Traceback" not in output, output
    assert_nowhere(["wrong-cs-1"], output, reports)
    assert code == 1
