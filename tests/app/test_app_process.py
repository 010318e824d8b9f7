"""The deployed reference app as a process: started on deploy, stopped before rollback (the v1 app serving
in its place once the rollback is applied) and at close, never outliving a killed harness, and refusing
to start with a mistyped fault flag."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from rollout_gate.local.app_server import AppServer, install
from rollout_gate.local.cluster import EmbeddedCluster, process_alive
from rollout_gate.phases import Phase
from rollout_gate.target import TargetError
from tests.provisioning.local_targets import local_target
from tests.rehearsal import ROOT, SMALL_SCALE


def wait_gone(pid: int, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while process_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_app_runs_while_deployed_and_stops_before_rollback() -> None:
    with local_target("app-lifecycle") as target:
        server: AppServer = install(target, environ={})
        target.advance_to(Phase.POST_DEPLOY)
        v2_url = target.app_url
        assert v2_url and httpx.get(v2_url + "/health").json() == {"status": "ok", "database": "ok"}
        assert server.proc is not None
        pid = server.proc.pid
        target.advance_to(Phase.POST_ROLLBACK)
        assert wait_gone(pid)
        # The old version serves in its place: the v1 API (owner-scoped collections), not v2's organizations.
        (v1,) = server.companions
        assert v1.proc is not None and target.app_url == v1.url != v2_url
        assert httpx.get(target.app_url + "/health").json() == {"status": "ok", "database": "ok"}
        assert httpx.get(target.app_url + "/api/clients").status_code == 401
        assert httpx.get(target.app_url + "/api/organizations").status_code == 404
        v1_pid = v1.proc.pid
    assert wait_gone(v1_pid), "the v1 app outlived the target's close"


def test_a_mistyped_fault_flag_fails_the_deploy() -> None:
    with local_target("app-typo") as target:
        install(target, environ={"ROLLOUT_APP_FAULTS": "viewer_can_wirte"})
        with pytest.raises(TargetError, match=r"unknown fault flag.*viewer_can_wirte"):
            target.advance_to(Phase.POST_DEPLOY)


HARNESS = """
import json, sys, threading
from tests.provisioning.local_targets import local_target
from rollout_gate.local.app_server import install
from rollout_gate.phases import Phase
with local_target("app-orphan") as target:
    server = install(target, environ={})
    target.advance_to(Phase.POST_DEPLOY)
    print(json.dumps({"app": server.proc.pid, "run": target.run.run_id, "owner": target.run.owner_pid}), flush=True)
    threading.Event().wait(120)
"""


def test_a_killed_harness_takes_its_app_down() -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ROLLOUT_")}, **SMALL_SCALE}
    harness = subprocess.Popen([sys.executable, "-c", HARNESS], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    assert harness.stdout is not None
    started = json.loads(harness.stdout.readline())
    try:
        assert process_alive(started["app"])
        harness.send_signal(signal.SIGKILL)  # no cleanup of any kind runs
        harness.wait(timeout=10)
        assert wait_gone(started["app"]), "the app outlived the harness that started it"
    finally:
        harness.stdout.close()
        EmbeddedCluster(ROOT / ".rollout", started["run"], started["owner"]).stop()
