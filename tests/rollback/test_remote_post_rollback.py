"""Post-rollback on a remote target: the old version's checks come from the environment file.

`rollout-gate local up --phase post-rollback` serves a rolled-back target (the v1 app on the v1 schema);
a project verifies it through a remote environment file, with and without `rollback.smoke.endpoints`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollout_gate.config import ConfigError, load_environment
from tests.cli.test_local_up import EXAMPLE_ENV, LocalUpProcess, _clean_env, up_dir  # noqa: F401 (fixture)

CHECKS_TIMEOUT_S = 300
OLD_VERSION_ENDPOINTS = [
    {"name": "v1-health", "path": "/health", "expect": {"status": 200, "json": {"status": "ok"}}},
    {"name": "v1-my-clients", "path": "/api/clients", "auth": "existing_user", "expect": {"json_present": ["total"]}},
]


def remote_env(path: Path, rollback: dict[str, Any] | None) -> Path:
    """The shipped local-up template, enabled for post-rollback only, with the given `rollback:` block."""
    env = yaml.safe_load(EXAMPLE_ENV.read_text())
    env["phases"] = {"enabled": ["post-rollback"]}
    env.pop("mail", None)  # nothing is mailed after a rollback, and local up prints no maildir then
    if rollback is not None:
        env["rollback"] = rollback
    path.write_text(yaml.safe_dump(env))
    return path


def post_rollback_checks(project: Path, env_file: Path, variables: dict[str, str]) -> tuple[int, str, dict[str, Any]]:
    project.mkdir(parents=True, exist_ok=True)
    (project / "conftest.py").write_text('pytest_plugins = ["rollout_gate.pytest.checks"]\n')
    reports = project / "reports"
    argv = [
        sys.executable, "-m", "pytest", f"--env={env_file}", "--phase=post-rollback",
        f"--baseline={variables['ROLLOUT_LOCAL_BASELINE']}", "--report-dir", str(reports),
        "-p", "no:cacheprovider", "-q", "-rs",
    ]  # fmt: skip
    result = subprocess.run(
        argv, cwd=project, env=_clean_env(**variables), capture_output=True, text=True, timeout=CHECKS_TIMEOUT_S
    )
    gate = json.loads((reports / "gate.json").read_text())
    return result.returncode, result.stdout + result.stderr, {c["id"]: c for c in gate["criteria"]}


def test_remote_post_rollback_is_inconclusive_without_declared_checks_and_go_with_them(
    up_dir: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    up = LocalUpProcess(up_dir, "--phase", "post-rollback")
    try:
        variables = up.read_variables()
        assert variables.get("ROLLOUT_LOCAL_BASELINE"), up.stdout

        bare = remote_env(tmp_path / "bare.yaml", None)
        code, output, criteria = post_rollback_checks(tmp_path / "bare", bare, variables)
        assert code == 11, output  # INCONCLUSIVE: nothing proves the old version serves
        assert criteria["rollback_app_serves"]["status"] == "inconclusive", criteria["rollback_app_serves"]
        assert "no rollback.smoke.endpoints declared" in output, output
        assert criteria["rollback_restores_schema"]["status"] == "pass", output
        assert criteria["rollback_restores_v1"]["status"] == "pass", output

        declared = remote_env(tmp_path / "declared.yaml", {"smoke": {"endpoints": OLD_VERSION_ENDPOINTS}})
        code, output, criteria = post_rollback_checks(tmp_path / "declared", declared, variables)
        assert code == 0, output
        serving = criteria["rollback_app_serves"]
        # The reference-API checks are not collected on a remote target; the declared ones ran against the v1 app.
        assert serving["status"] == "pass" and serving["samples"] == 2, serving
        assert all("test_old_version_serves.py::test_declared_old_version_endpoint[v1-" in t for t in serving["tests"])
        assert up.terminate() == 0, up.stderr()
    finally:
        up.kill_leftovers()
    assert not up.state.exists(), "local up left its state behind"


def test_provisioned_test_users_are_refused_after_a_rollback(tmp_path: Path) -> None:
    endpoints = [{"name": "new-user", "path": "/api/clients", "auth": "test_user"}]
    path = tmp_path / "environments" / "staging.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump({"name": "staging", "rollback": {"smoke": {"endpoints": endpoints}}}))
    with pytest.raises(ConfigError, match=r"rollback\.smoke.*test_user is not available after a rollback"):
        load_environment(path, {})
