"""Deploy the reference app on the local target: SMTP sink + uvicorn child on a free loopback port.

`install(target)` adds the local target's `deploy` hook (start), its `before_rollback` hook (stop), its
`after_rollback` hook (start the v1 app, the version the rollback returns to) and its `close` hook.
Each app runs as a child process that dies with its parent (PR_SET_PDEATHSIG), so even a killed
harness never leaves a server behind. Fault flags reach the app only from here,
from `ROLLOUT_APP_FAULTS` in the harness's environment.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

import rollout_gate.reference_app.app
from rollout_gate import db
from rollout_gate.local import processes
from rollout_gate.local.mail_sink import MailSink
from rollout_gate.migrations import sql_files
from rollout_gate.reference_app.app.faults import ENV_VAR as FAULTS_VAR
from rollout_gate.reference_app.app.faults import Faults
from rollout_gate.reference_app.app.settings import LOCAL_ANON_KEY, STATS_TOKEN_VAR
from rollout_gate.target import TargetError

if TYPE_CHECKING:
    from rollout_gate.local.target import LocalTarget

APP_SQL_DIR = Path(rollout_gate.reference_app.app.__file__).parent / "sql"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


def maildir_for(target: LocalTarget) -> Path:
    """Where the local target's sink delivers mail for this process's app."""
    mail = target.mailbox_dir()
    assert mail is not None  # a local target always has its sink
    return mail


class AppServer:
    """One reference app process (and its mail sink) for one local target database."""

    def __init__(
        self, target: LocalTarget, environ: Mapping[str, str], log_dir: Path | None = None, *, schema: str = "v2"
    ) -> None:
        self.target = target
        self.schema = schema
        # Fault flags rehearse a broken v2 deploy; the v1 app after a rollback runs as released.
        self.faults_text = environ.get(FAULTS_VAR, "") if schema == "v2" else ""
        self.stats_token = environ.get(STATS_TOKEN_VAR, "")
        self.base_env = {k: v for k, v in environ.items() if not k.startswith(("ROLLOUT_", "PYTEST_"))}
        state = target.project_root / target.loaded.env.local.state_dir
        # In the report dir when the harness gives one (kept with the run's reports), else run state.
        self.keep_log = log_dir is not None
        name = "app" if schema == "v2" else f"app-{schema}"
        self.log_path = (log_dir or state / "logs") / f"{name}-{target.run.run_id}-{target.run.worker_id}.log"
        self.sink = MailSink(maildir_for(target))
        self.proc: subprocess.Popen[bytes] | None = None
        self.url: str | None = None
        # Servers that stop with this one (the v1 app that replaces it after a rollback).
        self.companions: list[AppServer] = []

    def start(self) -> str:
        if self.proc is not None:
            assert self.url is not None
            return self.url
        try:
            faults = Faults.parse(self.faults_text)
        except ValueError as exc:
            raise TargetError(str(exc)) from None  # a typo fails the deploy, loudly
        if self.schema == "v2":
            # v1 needs neither: it sends no mail, and its sign-in only reads auth.users.
            self._apply_app_sql()
            self.sink.start()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        env = {
            **self.base_env,
            "ROLLOUT_APP_DATABASE_URL": self.target.app_database_url(),
            # A fresh signing secret per run and process: never printed, never written anywhere.
            "ROLLOUT_APP_JWT_SECRET": secrets.token_urlsafe(48),
            "ROLLOUT_APP_PUBLIC_URL": url,
            "ROLLOUT_APP_SCHEMA": self.schema,
            # The Supabase-shaped sign-in's key: the public local default, which `local up` prints.
            "ROLLOUT_APP_ANON_KEY": LOCAL_ANON_KEY,
            "ROLLOUT_APP_SMTP_HOST": "127.0.0.1",
            "ROLLOUT_APP_SMTP_PORT": str(self.sink.port),
            FAULTS_VAR: faults.spec(),  # delays (flag@SECONDS) count from the app's start
            # The admin stats route's token, when the harness's environment gives one (else the route is off).
            STATS_TOKEN_VAR: self.stats_token,
        }
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "rollout_gate.reference_app.app", "--fd", str(sock.fileno())]
        argv += ["--parent-pid", str(os.getpid())]
        with sock, self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                argv,
                cwd=self.target.project_root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=(sock.fileno(),),
            )
        # Our copy of the socket is closed: if the child dies, waiting clients fail instead of hanging.
        self._wait_ready(url)
        self.url = url
        return url

    def _apply_app_sql(self) -> None:
        """The app's own deploy-time SQL (grants its auth endpoints need), as the owner, like a deployer."""
        with db.connect(self.target.database_url()) as conn:
            for path in sql_files(APP_SQL_DIR):
                with conn.transaction():
                    conn.execute(path.read_text(encoding="utf-8"))  # type: ignore[arg-type]

    def _wait_ready(self, url: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        assert self.proc is not None
        while True:
            if self.proc.poll() is not None:
                raise TargetError(
                    f"the reference app exited during startup (code {self.proc.returncode}): {self._tail()}"
                )
            try:
                if httpx.get(url + "/health", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise TargetError(
                    f"the reference app did not become healthy within {START_TIMEOUT_S:g}s: {self._tail()}"
                )
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=0.1)  # wakes early if the child exits

    def _tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(lines[-3:]) or "(empty log)"

    def stop(self) -> None:
        proc, self.proc, self.url = self.proc, None, None
        processes.stop(proc, STOP_TIMEOUT_S)
        self.sink.stop()

    def cleanup(self) -> None:
        """Stop it and its companions; drop the mail of this target (the Maildir is run state, like the database)."""
        for companion in self.companions:
            companion.cleanup()
        self.stop()
        shutil.rmtree(self.sink.maildir, ignore_errors=True)
        if not self.keep_log:
            self.log_path.unlink(missing_ok=True)


def install(target: LocalTarget, environ: Mapping[str, str] | None = None, *, log_dir: Path | None = None) -> AppServer:
    """Deploy the reference app when the target reaches `deployed`; stop it before rollback; once the rollback
    is applied, serve the v1 app (the old version) in its place; stop whatever runs at close."""
    environ = os.environ if environ is None else environ
    server = AppServer(target, environ, log_dir)
    old_version = AppServer(target, environ, log_dir, schema="v1")
    server.companions.append(old_version)  # whoever cleans the app up (close, `local up`) stops both

    def deploy(t: LocalTarget) -> None:
        t.app_url = server.start()

    def undeploy(t: LocalTarget) -> None:
        server.stop()
        t.app_url = None

    def serve_old_version(t: LocalTarget) -> None:
        t.app_url = old_version.start()

    def close(t: LocalTarget) -> None:
        server.cleanup()
        t.app_url = None

    target.hooks.deploy.append(deploy)
    target.hooks.before_rollback.append(undeploy)
    target.hooks.after_rollback.append(serve_old_version)
    target.hooks.close.append(close)
    return server
