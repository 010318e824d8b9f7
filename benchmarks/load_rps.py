"""Requests per second Locust generates against the reference app's cheapest endpoint (`GET /health`).

One Locust process, then one master with two workers, side by side in one run against the
same app, so the ratio is meaningful on a shared machine. Loopback only, bounded in time.

    .venv/bin/python benchmarks/load_rps.py [--seconds 15] [--users 50]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rollout_gate.config import load_environment
from rollout_gate.local.app_server import install
from rollout_gate.local.cluster import EmbeddedCluster
from rollout_gate.local.target import LocalTarget
from rollout_gate.net import free_loopback_port
from rollout_gate.phases import Phase
from rollout_gate.run import RunContext

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILE = """
from locust import FastHttpUser, constant, task

class Health(FastHttpUser):
    wait_time = constant(0)

    @task
    def health(self):
        self.client.get("/health")
"""


def locust(locustfile: Path, host: str, users: int, seconds: int, workers: int) -> float:
    """Total requests / run time, read from Locust's own summary."""
    base = [sys.executable, "-m", "locust", "-f", str(locustfile), "--loglevel", "ERROR"]
    head = ["--headless", "--host", host, "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--only-summary"]
    if workers == 0:
        done = subprocess.run(base + head, capture_output=True, text=True, timeout=seconds + 60)
        out = done.stdout + done.stderr
    else:
        port = free_loopback_port()
        master = subprocess.Popen(
            base + head + ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
                           "--expect-workers", str(workers)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        procs = [
            subprocess.Popen([*base, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(workers)
        ]  # fmt: skip
        out, _ = master.communicate(timeout=seconds + 90)
        for p in procs:
            p.wait(timeout=30)
    match = re.search(r"Aggregated\s+(\d+)\s+(\d+)", out)
    if not match:
        raise SystemExit(f"no Locust summary:\n{out[-2000:]}")
    return int(match.group(1)) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--users", type=int, default=50)
    args = parser.parse_args()
    run = RunContext.new()
    loaded = load_environment(
        ROOT / "environments" / "local.yaml", {"ROLLOUT_SCALE_USERS": "20", "ROLLOUT_SCALE_ROWS": "1000"}
    )
    target = LocalTarget(loaded, project_root=ROOT, run=run, environ={})
    install(target, log_dir=Path(tempfile.mkdtemp(prefix="rg-bench-")))
    try:
        target.advance_to(Phase.POST_DEPLOY)
        assert target.base_url is not None
        with tempfile.TemporaryDirectory() as tmp:
            locustfile = Path(tmp) / "health.py"
            locustfile.write_text(LOCUSTFILE)
            print(
                f"cores: {os.cpu_count()}, users: {args.users}, {args.seconds}s per run, "
                f"target {target.base_url}/health"
            )
            one = locust(locustfile, target.base_url, args.users, args.seconds, workers=0)
            print(f"1 Locust process:        {one:8.0f} req/s")
            two = locust(locustfile, target.base_url, args.users, args.seconds, workers=2)
            print(f"master + 2 workers:      {two:8.0f} req/s  ({two / one:.2f}x)")
            time.sleep(0.1)
    finally:
        target.close()
        EmbeddedCluster(ROOT / ".rollout", run.run_id, run.owner_pid).stop()


if __name__ == "__main__":
    main()
