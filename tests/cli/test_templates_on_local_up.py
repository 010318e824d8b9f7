"""The staging and production templates `rollout-gate init` writes, pointed at the reference app served by
`rollout-gate local up`, give GO: no false alarm from the templates themselves (their reviewed allow-lists,
writes forbidden in production listed as not applicable, no mailbox needed where the phase needs none)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_local_up import CHECKS_TIMEOUT_S, LocalUpProcess, _clean_env, up_dir  # noqa: F401


def _checks(project: Path, env: str, phase: str, variables: dict[str, str], reports: Path) -> tuple[str, str]:
    # `--opt=value`: a separate value token would count as a path when pytest picks the rootdir.
    argv = [sys.executable, "-m", "pytest", f"--env={env}", f"--phase={phase}", f"--report-dir={reports}",
            f"--baseline={variables['ROLLOUT_LOCAL_BASELINE']}", "-p", "no:cacheprovider", "-q"]  # fmt: skip
    result = subprocess.run(argv, cwd=project, env=_clean_env(**variables), capture_output=True, text=True,
                            timeout=CHECKS_TIMEOUT_S, check=False)  # fmt: skip
    gate = json.loads((reports / "gate.json").read_text())
    return gate["verdict"], (result.stdout + result.stderr)[-4000:]


@pytest.mark.parametrize("env", ["staging", "production"])
def test_the_init_templates_give_go_on_the_reference_app(up_dir: Path, tmp_path: Path, env: str) -> None:  # noqa: F811
    project = tmp_path / "app"
    project.mkdir()
    init = subprocess.run([sys.executable, "-m", "rollout_gate.cli", "init"], cwd=project, capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    assert init.returncode == 0, init.stderr
    up = LocalUpProcess(up_dir)
    try:
        local = up.read_variables()
        prefix = env.upper()
        variables = {
            **local,
            f"{prefix}_BASE_URL": local["ROLLOUT_LOCAL_BASE_URL"],
            f"{prefix}_DATABASE_URL": local["ROLLOUT_LOCAL_DATABASE_URL"],
            # staging provisions test users (and reads their invitations); production only signs in its own.
            "STAGING_TEST_PASSWORD": "rg-template-pass-4821",
            "STAGING_USERS_CSV": local["ROLLOUT_LOCAL_USERS_CSV"],
            "STAGING_TEST_MAILDIR": local["ROLLOUT_LOCAL_MAILDIR"],
            "PRODUCTION_TEST_USERS_CSV": local["ROLLOUT_LOCAL_USERS_CSV"],
        }
        for phase in ("post-migration", "post-deploy"):
            verdict, output = _checks(project, env, phase, variables, tmp_path / f"reports-{phase}")
            if env == "production" and phase == "post-migration":
                # Fail closed: right after the migration public.invitations is empty, and where writes are
                # forbidden no probe row may be made, so isolation on it is unproven here (staging, which may
                # write, proves it with a rolled-back probe row): INCONCLUSIVE naming the table, never GO.
                assert verdict == "INCONCLUSIVE", f"{env} --phase={phase}:\n{output}"
                assert "public.invitations" in output and "writes are forbidden here" in output, output
                assert "FAIL " not in output, output
                continue
            assert verdict == "GO", f"{env} --phase={phase}:\n{output}"
    finally:
        assert up.terminate() == 0
        up.kill_leftovers()
