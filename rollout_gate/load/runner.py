"""Run Locust in subprocesses, bounded, on the environment's host: locally or as master + workers.

pytest never imports Locust (its gevent monkey-patching breaks a running
pytest); the load phase runs the same locustfile (`rollout_gate.load.locustfile_path()`) a team runs by hand.
Locust gets its own process group (a timeout kills it and anything it started)
and this process's pid: killed outright, the harness runs no cleanup, and every
Locust process quits on its own once it sees its parent gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rollout_gate.load.measure import result_run_id
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
    run_id: str | None = None  # recorded in the result, so a file of another run is never read as this one's


@dataclass
class LoadRun:
    returncode: int
    result: Path
    output: str
    seconds: float
    worker_returncodes: list[int] = field(default_factory=list)
    # Why `result` is not this run's measurements (None when it is): missing, or written by another run.
    problem: str | None = None

    @property
    def tail(self) -> str:
        return "\n".join(self.output.strip().splitlines()[-25:])


def locust_command(spec: LoadSpec, *role: str) -> list[str]:
    argv = [sys.executable, "-m", "locust", "-f", str(spec.locustfile), "--rollout-env", spec.environment,
            "--rollout-environments-dir", str(spec.environments_dir), "--rollout-result", str(spec.result),
            "--rollout-max-requests", str(spec.max_requests), "--rollout-parent-pid", str(os.getpid()),
            "--loglevel", "WARNING", *role]  # fmt: skip
    if spec.run_id is not None:
        argv += ["--rollout-run-id", spec.run_id]
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
    spawned: list[subprocess.Popen[str]] = []
    try:
        if spec.workers <= 0:
            spawned.append(_spawn(locust_command(spec, *headless), env, cwd))
            out, code = _wait(spawned[0], timeout)
            return _finished(spec, code, out, started)
        port = free_loopback_port()
        master = _spawn(
            locust_command(spec, *headless, "--master", "--master-bind-host", "127.0.0.1",
                           "--master-bind-port", str(port), "--expect-workers", str(spec.workers),
                           "--expect-workers-max-wait", "30"),
            env, cwd,
        )  # fmt: skip
        spawned.append(master)
        for _ in range(spec.workers):
            worker_argv = locust_command(spec, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port))
            spawned.append(_spawn(worker_argv, env, cwd))
        out, code = _wait(master, timeout)
        worker_codes = [_wait(w, 15)[1] for w in spawned[1:]]
        return _finished(spec, code, out, started, worker_codes)
    finally:
        # Interrupted (Ctrl-C, an exception): no Locust outlives the call.
        for proc in spawned:
            if proc.poll() is None:
                _kill_group(proc)


def _finished(spec: LoadSpec, code: int, out: str, started: float, worker_codes: list[int] | None = None) -> LoadRun:
    return LoadRun(
        code, spec.result, out, time.monotonic() - started, worker_codes or [], problem=result_problem(spec, code)
    )


def result_problem(spec: LoadSpec, returncode: int) -> str | None:
    """Why the result file is not this run's measurements; None when it is."""
    if not spec.result.is_file():
        return f"Locust exited {returncode} without writing {spec.result}"
    if spec.run_id is not None:
        recorded = result_run_id(spec.result)
        if recorded != spec.run_id:
            return f"{spec.result} records run {recorded or '(none)'}, not this run {spec.run_id}: a stale file"
    return None


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
        _kill_group(proc)
        out, _ = proc.communicate()
        return (out or "") + f"\nrollout-gate: Locust killed after {timeout:.0f}s", -9


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone, group and all
        os.killpg(proc.pid, signal.SIGKILL)
