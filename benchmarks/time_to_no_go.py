"""Benchmark: time from start to a non-GO verdict when the target database is stopped or frozen.

    .venv/bin/python benchmarks/time_to_no_go.py [--repeat 3]

Each run is the whole post-migration phase (`pytest --env=FILE --phase=post-migration`, every
integrity and isolation test) against a remote environment whose database is a real embedded
PostgreSQL that was
- stopped: started, then killed, so its port refuses connections;
- frozen: running, with the postmaster and every backend SIGSTOP'd (the kernel still accepts TCP
  connections, nothing answers), SIGCONT'd afterwards.
Wall time includes pytest's start-up. Target (issue 12): under 15 s for the whole phase.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rollout_gate.local.cluster import EmbeddedCluster  # noqa: E402
from rollout_gate.run import RunContext  # noqa: E402

DSN_VARIABLE = "ROLLOUT_BENCH_DSN"
ENV_FILE = f"""\
name: unavailable-db
kind: remote
description: a target whose database is stopped or frozen
target:
  database_url: ${{{DSN_VARIABLE}}}
  connect_timeout: CONNECT_TIMEOUT
safety:
  allow_writes: false
  allow_load: false
phases:
  enabled: [post-migration]
"""


@dataclass
class PhaseRun:
    seconds: float
    returncode: int
    verdict: str
    output: str


def run_phase(dsn: str, workdir: Path, *args: str, connect_timeout: float = 10, timeout: float = 300) -> PhaseRun:
    """The post-migration phase against `dsn`, in a subprocess, timed from exec to exit."""
    env_file = workdir / "unavailable-db.yaml"
    env_file.write_text(ENV_FILE.replace("CONNECT_TIMEOUT", f"{connect_timeout:g}"))
    report_dir = workdir / "reports"
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLOUT_", "PYTEST_"))}
    environ[DSN_VARIABLE] = dsn
    argv = [
        sys.executable, "-m", "pytest", f"--env={env_file}", "--phase=post-migration",
        f"--report-dir={report_dir}", f"--baseline={workdir / 'baseline.json'}", "-p", "no:cacheprovider", *args,
    ]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=timeout, check=False)
    seconds = time.perf_counter() - started
    gate = report_dir / "gate.json"
    verdict = str(json.loads(gate.read_text())["verdict"]) if gate.is_file() else "(no gate file)"
    return PhaseRun(seconds, proc.returncode, verdict, proc.stdout + proc.stderr)


@contextmanager
def embedded_server(state_dir: Path) -> Iterator[EmbeddedCluster]:
    run = RunContext.new()
    cluster = EmbeddedCluster(state_dir, run.run_id, os.getpid())
    try:
        yield cluster
    finally:
        cluster.stop()


def server_processes(cluster: EmbeddedCluster) -> list[int]:
    """The postmaster and its children (backends, checkpointer, walwriter, ...)."""
    pid = int((cluster.data / "postmaster.pid").read_text().split()[0])
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return [pid, *children]


@contextmanager
def frozen(cluster: EmbeddedCluster) -> Iterator[None]:
    """SIGSTOP the whole server; SIGCONT it whatever happens."""
    pids = server_processes(cluster)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def stopped_run(workdir: Path, connect_timeout: float = 10) -> PhaseRun:
    with embedded_server(workdir / "state") as cluster:
        dsn = cluster.ensure_running().dsn()
        cluster.stop()
        return run_phase(dsn, workdir, connect_timeout=connect_timeout)


def frozen_run(workdir: Path, connect_timeout: float = 10) -> PhaseRun:
    with embedded_server(workdir / "state") as cluster:
        dsn = cluster.ensure_running().dsn()
        with frozen(cluster):
            return run_phase(dsn, workdir, connect_timeout=connect_timeout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connect-timeout", type=float, default=10, help="target.connect_timeout (default 10)")
    args = parser.parse_args()
    print("| database | run | wall time | exit | verdict |")
    print("| --- | --- | --- | --- | --- |")
    for name, scenario in (("stopped", stopped_run), ("frozen", frozen_run)):
        for i in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix=f"rg-no-go-{name}-") as tmp:
                result = scenario(Path(tmp), args.connect_timeout)
            print(f"| {name} | {i + 1} | {result.seconds:.1f} s | {result.returncode} | {result.verdict} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
