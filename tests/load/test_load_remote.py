"""The load phase against a staging-like target (reached only by URL and DSN, `kind: remote`):
the virtual users are test members provisioned for the run, nothing of theirs is left afterwards,
and a run stops at the environment's request cap long before its run time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollout_gate.local.target import LocalTarget
from rollout_gate.phases import Phase
from tests.provisioning.local_targets import local_target, provisioned_rows
from tests.rehearsal import rehearse


@pytest.fixture(scope="module")
def staging_like() -> Iterator[LocalTarget]:
    with local_target("load-remote", deploy=True) as target:
        target.advance_to(Phase.POST_DEPLOY)
        yield target


def env_file(tmp_path: Path, target: LocalTarget, **load: Any) -> Path:
    env = {
        "name": "staging-like",
        "kind": "remote",
        "target": {"base_url": target.app_url, "database_url": target.database_url()},
        "safety": {"allow_writes": True, "allow_load": True},
        "phases": {"enabled": ["load"]},
        "provisioning": {"via": "api"},
        "load": {"users": 8, "run_time_s": 6, "pool_size": 6, "sustained_window_s": 3, **load},
    }
    path = tmp_path / "staging-like.yaml"
    path.write_text(yaml.safe_dump(env, sort_keys=False))
    return path


def test_remote_load_run_provisions_its_members_and_leaves_nothing(staging_like: LocalTarget, tmp_path: Path) -> None:
    run = rehearse(tmp_path / "reports", f"--env={env_file(tmp_path, staging_like)}", "--phase=load")
    assert run.verdict == "GO", run.output[-3000:]
    assert run.criterion("load_cross_tenant_hits")["status"] == "pass"
    assert int(run.criterion("load_p95")["samples"]) >= 100
    assert set(provisioned_rows(staging_like.database_url(), f"rg-test-{run.gate['run_id']}-").values()) == {0}


def test_a_run_stops_at_its_request_cap(staging_like: LocalTarget, tmp_path: Path) -> None:
    started = time.monotonic()
    env = env_file(tmp_path, staging_like, run_time_s=60, max_requests=300)
    run = rehearse(tmp_path / "reports", f"--env={env}", "--phase=load")
    requests = int(run.criterion("load_p95")["samples"])
    assert 300 <= requests < 600, run.output[-3000:]  # in-flight requests finish after the cap
    assert time.monotonic() - started < 45, "the 60 s run did not stop at its request cap"
