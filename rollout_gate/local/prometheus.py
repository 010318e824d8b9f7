"""The local target's own Prometheus: Debian's /usr/bin/prometheus on a free loopback port, scraping the
reference app every second, its data under the run's state dir, stopped and removed with the run.

The child dies with the harness (PR_SET_PDEATHSIG), so a killed run leaves no server behind; the
Debian service is never used. `install(target)` starts it on first use and registers the stop.
"""

from __future__ import annotations

import contextlib
import ctypes
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from rollout_gate.local import processes
from rollout_gate.net import free_loopback_port
from rollout_gate.target import TargetError

if TYPE_CHECKING:
    from rollout_gate.local.target import LocalTarget

BINARY_ENV = "ROLLOUT_PROMETHEUS"
DEFAULT_BINARY = "/usr/bin/prometheus"
SCRAPE_INTERVAL_S = 1
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
JOB = "reference-app"


def find_binary(environ: dict[str, str] | None = None) -> str | None:
    import os

    env = os.environ if environ is None else environ
    given = env.get(BINARY_ENV)
    if given:
        return given if Path(given).is_file() else None
    return DEFAULT_BINARY if Path(DEFAULT_BINARY).is_file() else shutil.which("prometheus")


def config_text(app_url: str) -> str:
    target = urlsplit(app_url).netloc
    return (
        "global:\n"
        f"  scrape_interval: {SCRAPE_INTERVAL_S}s\n"
        f"  scrape_timeout: {SCRAPE_INTERVAL_S}s\n"
        f"  evaluation_interval: {SCRAPE_INTERVAL_S}s\n"
        "scrape_configs:\n"
        f"  - job_name: {JOB}\n"
        "    metrics_path: /metrics\n"
        "    static_configs:\n"
        f"      - targets: ['{target}']\n"
    )


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class LocalPrometheus:
    """One Prometheus for one local target's app; `url` once started."""

    def __init__(self, state_dir: Path, name: str, binary: str) -> None:
        self.dir = state_dir / "prometheus" / name
        self.binary = binary
        self.proc: subprocess.Popen[bytes] | None = None
        self.url: str | None = None

    @property
    def pid_file(self) -> Path:
        return self.dir / "prometheus.pid"

    def start(self, app_url: str) -> str:
        if self.proc is not None and self.proc.poll() is None:
            assert self.url is not None
            return self.url
        shutil.rmtree(self.dir, ignore_errors=True)
        (self.dir / "data").mkdir(parents=True)
        (self.dir / "prometheus.yml").write_text(config_text(app_url), encoding="utf-8")
        port = free_loopback_port()
        url = f"http://127.0.0.1:{port}"
        argv = [
            self.binary,
            f"--config.file={self.dir / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=1h",
            # Short lookback: a series that stopped being scraped disappears from instant queries fast.
            "--query.lookback-delta=5s",
            "--log.level=warn",
        ]
        with (self.dir / "prometheus.log").open("ab") as log:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=_die_with_parent, cwd=self.dir
            )
        self.pid_file.write_text(f"{self.proc.pid}\n")
        self._wait_ready(url)
        self.url = url
        return url

    def _wait_ready(self, url: str) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise TargetError(f"prometheus exited during startup (code {self.proc.returncode}): {self._tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/-/ready", timeout=2, trust_env=False).status_code == 200:
                    return
            if time.monotonic() > deadline:
                self.stop()
                raise TargetError(f"prometheus at {url} not ready within {START_TIMEOUT_S:g}s: {self._tail()}")
            time.sleep(0.2)

    def _tail(self) -> str:
        try:
            lines = (self.dir / "prometheus.log").read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(lines[-2:])[:300] or "(empty log)"

    def stop(self) -> None:
        proc, self.proc, self.url = self.proc, None, None
        processes.stop(proc, STOP_TIMEOUT_S)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def install(target: LocalTarget) -> LocalPrometheus:
    """The target's Prometheus, started on first use (the app must be deployed); stopped before rollback, at close."""
    if target.prometheus is not None:
        return target.prometheus
    binary = find_binary()
    if binary is None:
        raise TargetError(f"no prometheus binary ({DEFAULT_BINARY}): run scripts/system-deps.sh or set {BINARY_ENV}")
    if not target.app_url:
        raise TargetError("the local target's app is not deployed: no Prometheus to start")
    run = target.run
    server = LocalPrometheus(
        target.project_root / target.loaded.env.local.state_dir, f"{run.run_id}-{run.worker_id}", binary
    )
    server.start(target.app_url)
    target.prometheus = server

    def stop(t: LocalTarget) -> None:
        server.cleanup()
        t.prometheus = None

    target.hooks.before_rollback.insert(0, stop)
    target.hooks.close.insert(0, stop)
    return server
