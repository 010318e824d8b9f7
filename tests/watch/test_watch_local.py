"""The watch phase of the local rehearsal, for real: the reference app on an embedded PostgreSQL, Debian's
Prometheus scraping it every second, bounded background users, and fault flags that start mid-window.

Each run is `pytest --env=local --phase=watch` in a subprocess, as a user runs it (short windows).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from rollout_gate.local.prometheus import find_binary
from tests.rehearsal import ROOT, SMALL_SCALE, Rehearsal, rehearse

pytestmark = pytest.mark.skipif(find_binary() is None, reason="no prometheus binary: run scripts/system-deps.sh")

WATCH_CRITERIA = ("watch_error_rate_warn", "watch_error_rate", "watch_p95", "watch_login_failures",
                  "watch_workspace_failures")  # fmt: skip


def watch(
    tmp_path: Path, *, faults: str = "", seconds: int = 20, source: str = "prometheus", warmup: str | None = None
) -> Rehearsal:
    extra = {"ROLLOUT_WATCH_SECONDS": str(seconds), "ROLLOUT_WATCH_SOURCE": source}
    if faults:
        extra["ROLLOUT_APP_FAULTS"] = faults
    env = [f"--env={local_env(tmp_path, warmup)}"] if warmup is not None else []
    return rehearse(tmp_path / "reports", *env, "--phase=watch", extra_env=extra, timeout=240)


def local_env(tmp_path: Path, warmup: str) -> Path:
    """environments/local.yaml with another `watch.warmup`, in a folder of its own (with its flags file)."""
    envs = tmp_path / "environments"
    envs.mkdir()
    shutil.copy(ROOT / "environments" / "local.flags.json", envs / "local.flags.json")
    text = (ROOT / "environments" / "local.yaml").read_text()
    assert "\n  warmup: 15s\n" in text
    path = envs / "local-warmup.yaml"
    path.write_text(text.replace("\n  warmup: 15s\n", f"\n  warmup: {warmup}\n", 1))
    return path


def progress(run: Rehearsal) -> dict[str, Any]:
    return json.loads((run.report_dir / "watch.json").read_text())


def by_id(run: Rehearsal) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in progress(run)["criteria"]}


@pytest.mark.parametrize("source", ["prometheus", "scrape"])
def test_clean_deploy_is_go_on_enough_points(source: str, tmp_path: Path) -> None:
    run = watch(tmp_path, source=source)
    assert run.returncode == 0 and run.verdict == "GO", run.output[-4000:]
    state = progress(run)
    assert state["state"] == "done" and state["source"] == source and not state["stopped_early"]
    for criterion_id in WATCH_CRITERIA:
        assert run.criterion(criterion_id)["status"] == "pass"
        c = by_id(run)[criterion_id]
        assert c["state"] == "pass" and c["missing"] == 0
        assert c["samples"] >= c["min_samples"], c
    assert state["traffic"]["requests"] > 100 and state["traffic"]["errors"] == 0
    assert "s remaining" in run.output and "error_rate = " in run.output  # the running display


@pytest.mark.parametrize("source", ["prometheus", "scrape"])
def test_projects_failing_mid_window_roll_back_before_the_window_ends(source: str, tmp_path: Path) -> None:
    run = watch(tmp_path, faults="failing_projects@12", seconds=40, source=source)
    assert run.returncode == 10 and run.verdict == "ROLLBACK", run.output[-4000:]
    assert run.criterion("watch_error_rate")["status"] == "fail"
    assert run.criterion("watch_error_rate")["action"] == "rollback"
    state = progress(run)
    assert state["stopped_early"].startswith("watch_error_rate (rollback)")
    assert state["remaining_s"] > 5, "the watch ran to its end instead of stopping at the trigger"
    fired = by_id(run)["watch_error_rate"]["fired_at_s"]
    onset = state["traffic"]["first_error_s"]
    assert onset is not None and 0 < onset < fired  # the deploy went bad inside the window
    # For BENCHMARKS.md: fault onset (first 500 the users saw) to the rollback decision.
    print(f"[{source}] onset {onset:.1f}s into the window -> ROLLBACK at {fired:.1f}s ({fired - onset:.1f}s); "
          f"cost per evaluation {state['cost_per_evaluation_s'] * 1000:.0f} ms")  # fmt: skip


def test_slow_projects_fail_the_p95_criterion_with_its_action(tmp_path: Path) -> None:
    run = watch(tmp_path, faults="slow_projects@12", seconds=40)
    assert run.returncode == 10 and run.verdict == "ROLLBACK", run.output[-4000:]
    p95 = run.criterion("watch_p95")
    assert p95["status"] == "fail" and p95["action"] == "rollback"
    assert "p95_ms = " in p95["reason"] and "not <= 500 ms" in p95["reason"]
    assert run.criterion("watch_error_rate")["status"] != "fail"


def test_no_metrics_is_inconclusive_naming_the_signals(tmp_path: Path) -> None:
    # The warm-up waits until every signal has a value, i.e. its whole length here: 5 s (Prometheus scrapes the
    # app every second once it is ready, before the warm-up) in place of 15 s: the window still judges a scraped app.
    run = watch(tmp_path, faults="no_metrics", seconds=8, warmup="5s")
    assert run.returncode == 11 and run.verdict == "INCONCLUSIVE", run.output[-4000:]
    for criterion_id in WATCH_CRITERIA:
        c = run.criterion(criterion_id)
        assert c["status"] == "inconclusive", c
        signal_name = by_id(run)[criterion_id]["signal"]
        assert f"{signal_name}: no series http_" in c["reason"], c["reason"]


def test_prometheus_stopped_mid_window_is_inconclusive(tmp_path: Path) -> None:
    report_dir = tmp_path / "reports"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLOUT_", "PYTEST_"))}
    env.update(SMALL_SCALE)
    env.update({"ROLLOUT_WATCH_SECONDS": "20", "ROLLOUT_WATCH_SOURCE": "prometheus"})
    argv = [sys.executable, "-m", "pytest", "--env=local", "--phase=watch", f"--report-dir={report_dir}",
            "-p", "no:cacheprovider"]  # fmt: skip
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    killed = None
    try:
        deadline = time.monotonic() + 180
        while killed is None and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            try:
                state = json.loads((report_dir / "watch.json").read_text())
            except (OSError, ValueError):
                continue
            if state["evaluations"] >= 3:
                killed = _kill_own_prometheus(proc.pid)
        out, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert killed is not None, "never saw the watch running"
    run = Rehearsal(proc.returncode, out, report_dir)
    assert run.returncode == 11 and run.verdict == "INCONCLUSIVE", out[-4000:]
    for criterion_id in WATCH_CRITERIA:
        reason = run.criterion(criterion_id)["reason"]
        assert "Prometheus unreachable at 127.0.0.1:" in reason, reason


def _kill_own_prometheus(parent: int) -> int | None:
    """SIGKILL the Prometheus that this rehearsal (pid `parent`) started, found by its pid file."""
    for pid_file in (ROOT / ".rollout" / "prometheus").glob("*/prometheus.pid"):
        try:
            pid = int(pid_file.read_text())
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent:
            os.kill(pid, signal.SIGKILL)
            return pid
    return None
