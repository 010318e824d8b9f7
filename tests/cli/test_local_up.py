"""`rollout-gate local up`: a staging-like target the shipped suites verify from another directory.

The command runs as a user runs it (a subprocess of this venv's Python); the checks run in a separate
project directory whose conftest activates the shipped suites, with `environments/examples/local-up.yaml`
reading the variables the command printed. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from rollout_gate.local.cluster import process_alive
from tests.rehearsal import ROOT, SMALL_SCALE

EXAMPLE_ENV = ROOT / "environments" / "examples" / "local-up.yaml"
FIRST_LINES = ("ROLLOUT_LOCAL_DATABASE_URL", "ROLLOUT_LOCAL_BASE_URL", "ROLLOUT_LOCAL_MAILDIR")
UP_TIMEOUT_S = 180
STOP_TIMEOUT_S = 20
CHECKS_TIMEOUT_S = 420


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLOUT_", "PYTEST_"))}
    return {**env, **extra}


class LocalUpProcess:
    """`rollout-gate local up` in a subprocess, its printed variables, and what it started."""

    def __init__(self, workdir: Path, *args: str, state: Path | None = None, env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.state = state or workdir / "state"
        workdir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "rollout_gate.cli", "local", "up", "--state-dir", str(self.state), *args]
        self.proc = subprocess.Popen(
            argv,
            cwd=workdir,
            env=_clean_env(**SMALL_SCALE, **(env or {})),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.stdout: list[str] = []
        self._seen: set[int] = set()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def read_variables(self, timeout: float = UP_TIMEOUT_S) -> dict[str, str]:
        """The dotenv lines up to the human (comment) line; fails if the command exits or stalls first."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"local up printed no ready line within {timeout:g}s: {self.stdout}")
            if line is None:
                pytest.fail(f"local up exited ({self.proc.wait(5)}) before it was ready: {self.stderr()}")
            self.stdout.append(line)
            if line.startswith("#"):
                break
        names = [line.split("=", 1)[0] for line in self.stdout[:-1]]
        assert tuple(names[:3]) == FIRST_LINES, self.stdout
        return dict(line.split("=", 1) for line in self.stdout[:-1])

    def started_pids(self) -> dict[str, int]:
        """The processes it runs: its children (the app) and the embedded server (a daemon, not a child)."""
        pids = {f"child {pid}": pid for pid in _children(self.proc.pid)}
        for pidfile in self.state.glob("pg/*/data/postmaster.pid"):
            pids["postmaster"] = int(pidfile.read_text().split("\n", 1)[0])
        self._seen.update(pids.values())
        return pids

    def terminate(self, timeout: float = STOP_TIMEOUT_S) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def stderr(self) -> str:
        if self.proc.poll() is None or self.proc.stderr is None:
            return ""
        return self.proc.stderr.read()

    def kill_leftovers(self) -> None:
        """Teardown of a failed test: never leave a server running."""
        if self.proc.poll() is None:
            self.started_pids()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.terminate()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        for pid in self._seen:
            with contextlib.suppress(ProcessLookupError):
                if process_alive(pid):
                    os.kill(pid, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(stat.parent.name))
    return children


def _accepts(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "", parts.port or 0), timeout=2):
            return True
    except OSError:
        return False


def run_shipped_checks(project: Path, variables: dict[str, str], report_dir: Path) -> tuple[int, str]:
    """`pytest --env=<example file> -m "smoke or isolation"` from a project that only activates the checks."""
    project.mkdir(parents=True, exist_ok=True)
    (project / "conftest.py").write_text('pytest_plugins = ["rollout_gate.pytest.checks"]\n')
    argv = [
        sys.executable, "-m", "pytest", f"--env={EXAMPLE_ENV}", "-m", "smoke or isolation",
        "--report-dir", str(report_dir), "-p", "no:cacheprovider", "-q",
    ]  # fmt: skip
    result = subprocess.run(
        argv, cwd=project, env=_clean_env(**variables), capture_output=True, text=True, timeout=CHECKS_TIMEOUT_S
    )
    return result.returncode, result.stdout + result.stderr


def _criteria(report_dir: Path) -> dict[str, str]:
    gate = json.loads((report_dir / "gate.json").read_text())
    return {c["id"]: c["status"] for c in gate["criteria"]}


@pytest.fixture
def up_dir() -> Iterator[Path]:
    """Where local up runs. Not under pytest's basetemp: a pytest session starting elsewhere resets that to
    0700, which would lock the embedded server's system user (when run as root) out of its data dir."""
    path = Path(tempfile.mkdtemp(prefix="rg-local-up-test-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _serve_and_verify(up_dir: Path, tmp_path: Path, env: dict[str, str] | None = None) -> tuple[int, str, Path]:
    """Bring local up, run the shipped checks against it, stop it, and prove nothing of it is left."""
    up = LocalUpProcess(up_dir, env=env)
    try:
        variables = up.read_variables()
        pids = up.started_pids()
        assert "postmaster" in pids and len(pids) >= 2, f"expected the server and the app: {pids}"
        maildir, users_csv = Path(variables["ROLLOUT_LOCAL_MAILDIR"]), Path(variables["ROLLOUT_LOCAL_USERS_CSV"])
        assert maildir.is_dir() and users_csv.is_file()
        assert _accepts(variables["ROLLOUT_LOCAL_BASE_URL"]) and _accepts(variables["ROLLOUT_LOCAL_DATABASE_URL"])

        report_dir = tmp_path / "reports"
        code, output = run_shipped_checks(tmp_path / "project", variables, report_dir)

        started = time.monotonic()
        assert up.terminate() == 0, up.stderr()
        assert time.monotonic() - started < 15, "local up took too long to stop"
        alive = {name: pid for name, pid in pids.items() if process_alive(pid)}
        assert not alive, f"still running after local up stopped: {alive}"
        assert not _accepts(variables["ROLLOUT_LOCAL_BASE_URL"])
        assert not _accepts(variables["ROLLOUT_LOCAL_DATABASE_URL"])
        assert not up.state.exists(), f"left behind: {sorted(p for p in up.state.rglob('*'))}"
        assert sorted(p.name for p in up.workdir.iterdir()) == [], "local up wrote outside its state dir"
        return code, output, report_dir
    finally:
        up.kill_leftovers()


def test_local_up_serves_a_target_the_shipped_checks_pass_on_and_leaves_nothing(up_dir: Path, tmp_path: Path) -> None:
    code, output, report_dir = _serve_and_verify(up_dir, tmp_path)
    assert code == 0, output[-3000:]
    criteria = _criteria(report_dir)
    assert {criteria[c] for c in ("smoke", "zero_cross_tenant_access", "role_rules")} == {"pass"}, criteria


def test_local_up_with_an_app_fault_is_no_go(up_dir: Path, tmp_path: Path) -> None:
    code, output, report_dir = _serve_and_verify(up_dir, tmp_path, {"ROLLOUT_APP_FAULTS": "skip_project_authz"})
    assert code == 1, output[-3000:]
    assert _criteria(report_dir)["zero_cross_tenant_access"] == "fail"
    assert "GET /api/organizations/{org}/projects/{project}" in output


def test_local_up_that_cannot_start_says_so_in_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    up = LocalUpProcess(tmp_path, state=blocker / "state")
    try:
        code = up.proc.wait(60)
        errors = up.stderr().strip().splitlines()
        assert code == 1
        assert len(errors) == 1 and errors[0].startswith("rollout-gate local up: error:"), errors
        assert "Traceback" not in errors[0] and str(blocker) in errors[0]
    finally:
        up.kill_leftovers()


def test_unknown_fault_flag_is_a_usage_error_before_anything_starts(tmp_path: Path) -> None:
    up = LocalUpProcess(tmp_path, env={"ROLLOUT_APP_FAULTS": "skip_project_authz,no_such_fault"})
    try:
        assert up.proc.wait(60) == 4
        assert "no_such_fault" in up.stderr()
        assert not up.state.exists()
    finally:
        up.kill_leftovers()


def test_local_up_at_post_migration_is_migrated_with_a_baseline_and_no_app(up_dir: Path) -> None:
    up = LocalUpProcess(up_dir, "--phase", "post-migration")
    try:
        variables = up.read_variables()
        assert variables["ROLLOUT_LOCAL_BASE_URL"] == "" and variables["ROLLOUT_LOCAL_MAILDIR"] == ""
        assert "'migrated'" in up.stdout[-1] and "no app deployed" in up.stdout[-1]
        assert list(up.started_pids()) == ["postmaster"], "no app runs before post-deploy"
        assert json.loads(Path(variables["ROLLOUT_LOCAL_BASELINE"]).read_text())["tables"]
        with psycopg.connect(variables["ROLLOUT_LOCAL_DATABASE_URL"], connect_timeout=10) as conn:
            # v2 is applied: the tenant table exists and every seeded user has a personal workspace.
            orphans = conn.execute(
                "select count(*) from auth.users u where not exists "
                "(select 1 from public.organizations o where o.personal_owner_id = u.id)"
            ).fetchone()
            assert orphans == (0,)
        assert up.terminate() == 0, up.stderr()
        assert not up.state.exists()
    finally:
        up.kill_leftovers()


def test_the_leftovers_of_a_killed_local_up_are_removed_by_the_next(up_dir: Path) -> None:
    killed = LocalUpProcess(up_dir)
    nxt = None
    try:
        variables = killed.read_variables()
        stale_server = killed.started_pids()["postmaster"]
        leftovers = [
            Path(variables["ROLLOUT_LOCAL_MAILDIR"]),
            Path(variables["ROLLOUT_LOCAL_USERS_CSV"]).parent,
            *killed.state.glob("pg/*/"),
            *killed.state.glob("logs/app-*.log"),
        ]
        assert len(leftovers) == 4, leftovers
        killed.proc.kill()  # kill -9: no cleanup of its own
        killed.proc.wait(10)
        assert process_alive(stale_server) and all(p.exists() for p in leftovers)

        nxt = LocalUpProcess(up_dir, "--phase", "pre-deploy")
        nxt.read_variables()
        assert not process_alive(stale_server)
        assert [p for p in leftovers if p.exists()] == []
        assert nxt.terminate() == 0, nxt.stderr()
    finally:
        killed.kill_leftovers()
        if nxt is not None:
            nxt.kill_leftovers()


def test_local_up_whose_app_dies_says_so_cleans_up_and_fails(up_dir: Path) -> None:
    up = LocalUpProcess(up_dir)
    try:
        up.read_variables()
        pids = up.started_pids()
        (app,) = [pid for name, pid in pids.items() if name.startswith("child")]
        os.kill(app, signal.SIGKILL)
        assert up.proc.wait(STOP_TIMEOUT_S) == 1
        assert "the reference app exited" in up.stderr()
        assert not any(process_alive(pid) for pid in pids.values())
        assert not up.state.exists()
    finally:
        up.kill_leftovers()
