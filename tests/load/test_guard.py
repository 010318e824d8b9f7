"""The one host rule every way of starting load applies, and the harness watch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rollout_gate.config import load_environment
from rollout_gate.load.guard import ParentWatch, host_problem
from tests.load.loopback import ENVIRONMENTS, remote_env


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        ("http://127.0.0.1:8123", None),
        ("http://127.0.0.1:8124", "host http://127.0.0.1:8124 is not staging-like's target.base_url"),
        ("https://127.0.0.1:8123", "host https://127.0.0.1:8123 is not staging-like's target.base_url"),
        ("http://127.0.0.2:8123", "host http://127.0.0.2:8123 is not staging-like's target.base_url"),
        ("http://user:pw-77@198.51.100.7", "host http://198.51.100.7 is not staging-like's target.base_url"),
        ("http://127.0.0.1:99999", "host 'http://127.0.0.1:99999' is not a URL"),
        ("", "give --host: the base URL of the environment's app"),
        (None, "give --host: the base URL of the environment's app"),
    ],
)
def test_remote_environment_takes_its_base_url_only(tmp_path: Path, host: str | None, problem: str | None) -> None:
    loaded = load_environment(remote_env(tmp_path, "http://127.0.0.1:8123"))
    assert host_problem(loaded, host) == problem


@pytest.mark.parametrize(
    ("host", "allowed"),
    [("http://127.0.0.1:5000", True), ("http://localhost:1", True), ("http://127.0.0.2:5000", False),
     ("http://192.0.2.10:8000", False)],
)  # fmt: skip
def test_local_environment_takes_loopback_only(host: str, allowed: bool) -> None:
    problem = host_problem(load_environment(ENVIRONMENTS / "local.yaml"), host)
    assert (problem is None) is allowed, problem


def test_parent_watch_sees_a_dead_process() -> None:
    assert ParentWatch(os.getpid()).alive()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not ParentWatch(child.pid).alive()
