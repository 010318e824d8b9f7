"""The Locust users sign in through the environment's provider: a load phase on `supabase` against the reference
app has no login failures, and the same run with a wrong apikey fails on them (only the supabase call needs it).
Judged on the login criteria, not the verdict: how many requests a short run completes depends on the machine."""

from __future__ import annotations

from pathlib import Path

import yaml

from rollout_gate.local.target import LocalTarget
from rollout_gate.reference_app.app.settings import LOCAL_ANON_KEY
from tests.rehearsal import rehearse


def env_file(tmp_path: Path, target: LocalTarget, apikey: str) -> Path:
    env = {
        "name": "supabase-load",
        "kind": "remote",
        "target": {"base_url": target.base_url, "database_url": target.database_url(),
                   "auth": {"kind": "supabase", "apikey": "${SB_ANON_KEY}"}},
        "safety": {"allow_writes": True, "allow_load": True},
        "phases": {"enabled": ["load"]},
        "provisioning": {"via": "api"},
        "load": {"users": 8, "run_time_s": 8, "pool_size": 6, "sustained_window_s": 3},
    }  # fmt: skip
    path = tmp_path / "supabase-load.yaml"
    path.write_text(yaml.safe_dump(env, sort_keys=False))
    return path


def test_load_users_sign_in_through_supabase(reference_target: LocalTarget, tmp_path: Path) -> None:
    env = env_file(tmp_path, reference_target, LOCAL_ANON_KEY)
    run = rehearse(tmp_path / "ok", f"--env={env}", "--phase=load", extra_env={"SB_ANON_KEY": LOCAL_ANON_KEY})
    for criterion in ("load_login_failure_warn", "load_login_failure_rollback"):
        assert run.criterion(criterion)["status"] == "pass", run.output[-3000:]

    bad = rehearse(tmp_path / "bad", f"--env={env}", "--phase=load", extra_env={"SB_ANON_KEY": "wrong-anon-key-2"})
    assert bad.verdict != "GO", bad.output[-3000:]
    assert bad.criterion("load_login_failure_rollback")["status"] == "fail", bad.output[-3000:]
    assert "wrong-anon-key-2" not in bad.output
