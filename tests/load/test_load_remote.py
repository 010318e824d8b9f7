"""The load phase against a staging-like target (reached only by URL and DSN, `kind: remote`):
the virtual users are test members provisioned for the run, and nothing of theirs is left afterwards."""

from __future__ import annotations

from pathlib import Path

import yaml

from rollout_gate.phases import Phase
from tests.provisioning.local_targets import local_target, provisioned_rows
from tests.rehearsal import rehearse


def test_remote_load_run_provisions_its_members_and_leaves_nothing(tmp_path: Path) -> None:
    with local_target("load-remote", deploy=True) as target:
        target.advance_to(Phase.POST_DEPLOY)
        env = {
            "name": "staging-like",
            "kind": "remote",
            "target": {"base_url": target.app_url, "database_url": target.database_url()},
            "safety": {"allow_writes": True, "allow_load": True},
            "phases": {"enabled": ["load"]},
            "provisioning": {"via": "api"},
            "load": {"users": 8, "run_time_s": 6, "pool_size": 6, "sustained_window_s": 3},
        }
        env_file = tmp_path / "staging-like.yaml"
        env_file.write_text(yaml.safe_dump(env, sort_keys=False))
        run = rehearse(tmp_path / "reports", f"--env={env_file}", "--phase=load")
        assert run.verdict == "GO", run.output[-3000:]
        assert run.criterion("load_cross_tenant_hits")["status"] == "pass"
        assert int(run.criterion("load_p95")["samples"]) >= 100
        assert set(provisioned_rows(target.database_url(), f"rg-test-{run.gate['run_id']}-").values()) == {0}
