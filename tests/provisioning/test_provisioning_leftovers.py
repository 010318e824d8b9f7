"""Against a staging-like target (app + database reached only by URL): the clean app passes every suite
of this issue, a normal run leaves no test data behind, and a run killed outright (SIGKILL) does, until
`rollout-gate sweep` removes it by prefix and age.

The target is a local one started here, described to the harness as `kind: remote`, so these runs
exercise what a team's staging gets: provisioning through the API, invitation links from a Maildir,
existing users from a CSV, cleanup through the API with the SQL backstop.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from rollout_gate.local.app_server import maildir_for
from rollout_gate.phases import Phase
from rollout_gate.reference_app.seed import SEED_PASSWORD
from tests.provisioning.local_targets import local_target, provisioned_rows
from tests.rehearsal import ROOT, SMALL_SCALE, rehearse

SUITES = ("suites/smoke", "suites/tenant_isolation/api", "suites/e2e")


class StagingLike:
    def __init__(self, env_file: Path, dsn: str) -> None:
        self.env_file = env_file
        self.dsn = dsn


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StagingLike]:
    with local_target("staging-like", deploy=True) as target:
        target.advance_to(Phase.POST_DEPLOY)
        home = tmp_path_factory.mktemp("staging-like")
        (home / "users.csv").write_text(f"email,password\nuser1@example.test,{SEED_PASSWORD}\n")
        env = {
            "name": "staging-like",
            "kind": "remote",
            "target": {
                "base_url": target.app_url,
                "database_url": target.database_url(),
                "auth": {"kind": "password", "users_csv": "users.csv"},
                # The reference app, served by a local target: its built-in smoke, API and E2E tests apply.
                "app": "reference",
            },
            "safety": {"allow_writes": True},
            "phases": {"enabled": ["post-deploy"]},
            "provisioning": {"via": "api"},
            "mail": {"maildir": str(maildir_for(target))},
            # The endpoints local.yaml declares, one of them with a provisioned user.
            "smoke": yaml.safe_load((ROOT / "environments" / "local.yaml").read_text())["smoke"],
        }
        env_file = home / "staging-like.yaml"
        env_file.write_text(yaml.safe_dump(env, sort_keys=False))
        yield StagingLike(env_file, target.database_url())


def test_clean_app_passes_every_suite_and_a_normal_run_leaves_nothing(staging: StagingLike, tmp_path: Path) -> None:
    run = rehearse(tmp_path / "reports", f"--env={staging.env_file}", "--phase=post-deploy", *SUITES)
    assert run.verdict == "GO", run.output[-3000:]
    for criterion in ("smoke", "zero_cross_tenant_access", "role_rules", "e2e_critical_flows"):
        assert run.criterion(criterion)["status"] == "pass", run.criterion(criterion)
    assert " skipped" not in run.output.splitlines()[-1], "nothing may be skipped on the clean app"
    prefix = f"rg-test-{run.gate['run_id']}-"
    assert set(provisioned_rows(staging.dsn, prefix).values()) == {0}


def test_a_killed_run_leaves_rows_that_sweep_removes(staging: StagingLike, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLOUT_", "PYTEST_"))}
    env.update(SMALL_SCALE, RG_HOLD_READY=str(ready))
    argv = [sys.executable, "-m", "pytest", f"--env={staging.env_file}", f"--report-dir={tmp_path / 'reports'}"]
    argv += ["-p", "no:cacheprovider", "tests/provisioning/hold_provisioned.py"]
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():  # the run writes it once its test data is provisioned
            assert proc.poll() is None, proc.communicate()[0].decode()[-3000:]
            assert time.monotonic() < deadline, "the run never finished provisioning"
            time.sleep(0.1)
        # Killed outright (SIGTERM would clean up: tests/test_sigterm.py): nothing runs its teardown.
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) != 0
    finally:
        if proc.poll() is None:
            proc.kill()
        assert proc.stdout is not None
        proc.stdout.close()
    prefix = ready.read_text()
    left = provisioned_rows(staging.dsn, prefix)
    assert left["organizations"] > 0 and left["users"] > 0, left

    sweep = [sys.executable, "-m", "rollout_gate.cli", "sweep", f"--env={staging.env_file}"]
    young = subprocess.run([*sweep, "--older-than", "2h"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert young.returncode == 0, young.stderr
    assert provisioned_rows(staging.dsn, prefix) == left, "rows younger than --older-than must stay"
    swept = subprocess.run([*sweep, "--older-than", "0s"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert swept.returncode == 0, swept.stderr
    assert f"found {left['organizations']} organizations" in swept.stdout and "left nothing" in swept.stdout
    assert set(provisioned_rows(staging.dsn, prefix).values()) == {0}
