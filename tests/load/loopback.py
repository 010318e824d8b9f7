"""Real Locust against tiny counting HTTP servers on loopback addresses of this machine, bounded and short."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from rollout_gate.load import locustfile_path

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = locustfile_path()
ENVIRONMENTS = ROOT / "environments"
PASSWORD = "pool-pass-9431"


class CountingServer(ThreadingHTTPServer):
    """Answers every request with `{}` and counts them: what a load run sent to this address."""

    daemon_threads = True

    def __init__(self, address: str) -> None:
        super().__init__((address, 0), _Handler)
        self.count = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: CountingServer

    def _answer(self) -> None:
        with self.server.lock:
            self.server.count += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def counting_server(address: str = "127.0.0.1") -> Iterator[CountingServer]:
    server = CountingServer(address)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def pool_file(tmp_path: Path) -> Path:
    """Two members of two tenants (the load pool needs at least two)."""
    path = tmp_path / "pool.json"
    members = [{"email": "a@example.test", "org_ids": ["org-a"]}, {"email": "b@example.test", "org_ids": ["org-b"]}]
    path.write_text(json.dumps({"members": members, "tenants": ["org-a", "org-b"]}))
    return path


def remote_env(tmp_path: Path, base_url: str) -> Path:
    """A staging-like environment whose target is `base_url` and which allows load."""
    env = {
        "name": "staging-like",
        "kind": "remote",
        "target": {"base_url": base_url},
        "safety": {"allow_writes": True, "allow_load": True},
        "load": {"think_time_s": [0.05, 0.1], "cleanup_sql": None},
    }
    path = tmp_path / "staging-like.yaml"
    path.write_text(yaml.safe_dump(env, sort_keys=False))
    return path


def locust_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLOUT_", "PYTEST_"))}
    return env | {"ROLLOUT_LOAD_PASSWORD": PASSWORD}


def locust_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--rollout-environments-dir", str(ENVIRONMENTS),
            "--loglevel", "WARNING", *args]  # fmt: skip


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll until `condition` holds; the seconds it took. Fails the test naming `what` past `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout:.0f}s")
        time.sleep(0.1)
    return time.monotonic() - started


def children_of(pid: int) -> list[int]:
    """Pids of the live processes whose parent is `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) and stat[1] == pid and stat[0] != "Z":
            found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for a reaper that may never come in a container)."""
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def _stat(pid: int) -> tuple[str, int] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def kill_groups(pids: list[int]) -> None:
    """Clean up after a failing test: the Locust processes lead their own process groups."""
    for pid in pids:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, 9)


def run_locust(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(locust_argv(*args), cwd=ROOT, env=locust_env(), capture_output=True, text=True,
                          timeout=timeout, check=False, stdin=subprocess.DEVNULL)  # fmt: skip


def start_locust(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(locust_argv(*args), cwd=ROOT, env=locust_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
