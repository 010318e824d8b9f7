"""Run Locust in subprocesses, bounded, on the environment's host: locally or as master + workers.

pytest never imports Locust (its gevent monkey-patching breaks a running
pytest); the load phase runs the same locustfile (`rollout_gate.load.locustfile_path()`) a team runs by hand.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rollout_gate.load.pool import PASSWORD_VAR
from rollout_gate.net import free_loopback_port

# Past the run time, how long Locust gets to stop users, write its result and exit.
_GRACE_S = 60


@dataclass(frozen=True)
class LoadSpec:
    locustfile: Path
    host: str
    environment: str  # name or path, as --env takes it
    environments_dir: Path
    result: Path
    users: int
    spawn_rate: float
    run_time_s: int
    max_requests: int
    pool: Path | None = None
    users_csv: Path | None = None
    workers: int = 0


@dataclass
class LoadRun:
    returncode: int
    result: Path
    output: str
    seconds: float
    worker_returncodes: list[int] = field(default_factory=list)

    @property
    def tail(self) -> str:
        return "\n".join(self.output.strip().splitlines()[-25:])


def locust_command(spec: LoadSpec, *role: str) -> list[str]:
    argv = [sys.executable, "-m", "locust", "-f", str(spec.locustfile), "--rollout-env", spec.environment,
            "--rollout-environments-dir", str(spec.environments_dir), "--rollout-result", str(spec.result),
            "--rollout-max-requests", str(spec.max_requests), "--loglevel", "WARNING", *role]  # fmt: skip
    if spec.pool is not None:
        argv += ["--rollout-pool", str(spec.pool)]
    if spec.users_csv is not None:
        argv += ["--rollout-users-csv", str(spec.users_csv)]
    return argv


def run_load(spec: LoadSpec, *, password: str | None, environ: Mapping[str, str] | None = None, cwd: Path) -> LoadRun:
    """Run one bounded load test; the result file is what the gate reads."""
    env = dict(os.environ if environ is None else environ)
    if password is not None:
        env[PASSWORD_VAR] = password
    spec.result.unlink(missing_ok=True)
    headless = ["--headless", "--host", spec.host, "-u", str(spec.users), "-r", str(spec.spawn_rate),
                "-t", f"{spec.run_time_s}s", "--only-summary"]  # fmt: skip
    started = time.monotonic()
    timeout = spec.run_time_s + _GRACE_S
    if spec.workers <= 0:
        proc = _spawn(locust_command(spec, *headless), env, cwd)
        out, code = _wait(proc, timeout)
        return LoadRun(code, spec.result, out, time.monotonic() - started)
    port = free_loopback_port()
    master = _spawn(
        locust_command(spec, *headless, "--master", "--master-bind-host", "127.0.0.1",
                       "--master-bind-port", str(port), "--expect-workers", str(spec.workers),
                       "--expect-workers-max-wait", "30"),
        env, cwd,
    )  # fmt: skip
    workers = [
        _spawn(locust_command(spec, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)), env, cwd)
        for _ in range(spec.workers)
    ]
    out, code = _wait(master, timeout)
    worker_codes = [_wait(w, 15)[1] for w in workers]
    return LoadRun(code, spec.result, out, time.monotonic() - started, worker_codes)


def _spawn(argv: list[str], env: Mapping[str, str], cwd: Path) -> subprocess.Popen[str]:
    # Own process group: a timeout kills Locust and anything it started.
    return subprocess.Popen(
        argv, cwd=cwd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip


def _wait(proc: subprocess.Popen[str], timeout: float) -> tuple[str, int]:
    try:
        out, _ = proc.communicate(timeout=timeout)
        return out or "", proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return (out or "") + f"\nrollout-gate: Locust killed after {timeout:.0f}s", -9
