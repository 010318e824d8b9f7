"""The Locust web UI (a team running the locustfile without --headless) loads the environment's host only.

Its swarm form carries a host of its own, which Locust applies before starting the users; the same rule
as the headless guard refuses another one. The foreign host is a counting server on 127.0.0.2, another
loopback address of this machine: it must see no request at all.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from rollout_gate.net import free_loopback_port
from tests.load.loopback import (
    CountingServer,
    counting_server,
    kill_groups,
    pool_file,
    remote_env,
    run_locust,
    start_locust,
    wait_for,
)  # fmt: skip


@contextmanager
def web_ui(tmp_path: Path, env: str, host: str) -> Iterator[str]:
    """Locust with its web UI on a loopback port; yields the UI's URL and stops Locust afterwards."""
    port = free_loopback_port()
    proc = start_locust("--web-host", "127.0.0.1", "--web-port", str(port), "--host", host, "--rollout-env", env,
                        "--rollout-pool", str(pool_file(tmp_path)),
                        "--rollout-result", str(tmp_path / "load.json"))  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(url) or proc.poll() is not None, 60, "the Locust web UI answering")
        assert proc.poll() is None, proc.communicate()[0][-2000:]
        yield url
    finally:
        proc.terminate()
        with suppress(subprocess.TimeoutExpired):
            proc.communicate(timeout=20)
        kill_groups([proc.pid])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/", timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def swarm(url: str, host: str) -> dict[str, Any]:
    form = urllib.parse.urlencode({"user_count": 2, "spawn_rate": 2, "host": host}).encode()
    with urllib.request.urlopen(urllib.request.Request(url + "/swarm", data=form), timeout=10) as resp:
        answer: dict[str, Any] = json.loads(resp.read())
    return answer


@pytest.fixture
def foreign() -> Iterator[CountingServer]:
    """Another address of this machine, standing in for a host that is not the environment's."""
    with counting_server("127.0.0.2") as server:
        yield server


@pytest.mark.parametrize("kind", ["remote", "local"])
def test_swarm_with_another_host_is_refused_and_sends_nothing(
    tmp_path: Path, foreign: CountingServer, kind: str
) -> None:
    with counting_server() as target:
        env = str(remote_env(tmp_path, target.url)) if kind == "remote" else "local"
        with web_ui(tmp_path, env, target.url) as url:
            refused = swarm(url, foreign.url)
            time.sleep(2)
            assert foreign.count == 0, f"{foreign.count} request(s) sent to {foreign.url}"
            assert refused["success"] is False
            assert "rollout-gate:" in refused["message"] and "127.0.0.2" in refused["message"]
            # Positive control: the same UI, the environment's own host, loads it.
            accepted = swarm(url, target.url)
            assert accepted["success"] is True, accepted
            wait_for(lambda: target.count > 0, 20, "the environment's host loaded from the web UI")
            time.sleep(1)
        assert foreign.count == 0
    # Stopped by SIGTERM while users ran: no measurements.
    assert not (tmp_path / "load.json").exists()


def test_web_ui_refuses_another_host_on_the_command_line(tmp_path: Path, foreign: CountingServer) -> None:
    with counting_server() as target:
        port = free_loopback_port()
        proc = run_locust("--web-host", "127.0.0.1", "--web-port", str(port), "--host", foreign.url,
                          "--rollout-env", str(remote_env(tmp_path, target.url)),
                          "--rollout-pool", str(pool_file(tmp_path)))  # fmt: skip
    assert proc.returncode == 4, proc.stderr[-2000:]
    assert f"host {foreign.url} is not staging-like's target.base_url" in proc.stderr
    assert foreign.count == 0
