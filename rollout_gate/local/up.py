"""The local target kept up as a server (`rollout-gate local up`): started, advanced to a phase, torn down.

It is the rehearsal's own `LocalTarget`, with the same deploy hooks the pytest plugin installs (baseline
right before migrating, the reference app and its SMTP sink on deploy), only driven by a command instead
of by tests. Everything it makes lives under the state dir and is recorded, so `close()` removes exactly
that: the app, the sink, the cluster and its data, the mail dir, its own run dir (users CSV, baseline),
and the directories it had to create. A run that was killed (`kill -9`) leaves its files behind; the next
one in the same state dir removes them (their owner process is gone), as the rehearsal does with clusters.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from rollout_gate.config import LoadedEnvironment
from rollout_gate.local.app_server import AppServer, install
from rollout_gate.local.cluster import process_alive
from rollout_gate.local.target import PHASE_STAGE, LocalTarget
from rollout_gate.phases import Phase
from rollout_gate.provisioning.existing import existing_users
from rollout_gate.reference_app.app.settings import LOCAL_ANON_KEY
from rollout_gate.run import RunContext

RUNS_DIR = "up"
# Subdirectories of the state dir that the target's parts create (cluster, mail, app logs) and this module.
_PARTS = ("pg", "mail", "logs", RUNS_DIR)
_LOCK_FILE = ".lock"  # the cluster's cross-process lock file, in pg/


@dataclass(frozen=True)
class Endpoints:
    """What a client needs to use the running target (printed by the command, dotenv style)."""

    database_url: str
    base_url: str | None
    maildir: Path | None
    users_csv: Path
    baseline: Path | None
    # The reference app's `apikey` for its Supabase-shaped sign-in (`target.auth.kind: supabase`).
    anon_key: str | None = None

    def dotenv(self) -> list[str]:
        lines = [
            f"ROLLOUT_LOCAL_DATABASE_URL={self.database_url}",
            f"ROLLOUT_LOCAL_BASE_URL={self.base_url or ''}",
            f"ROLLOUT_LOCAL_MAILDIR={self.maildir or ''}",
            f"ROLLOUT_LOCAL_USERS_CSV={self.users_csv}",
            f"ROLLOUT_LOCAL_ANON_KEY={self.anon_key or ''}",
        ]
        if self.baseline is not None:
            lines.append(f"ROLLOUT_LOCAL_BASELINE={self.baseline}")
        return lines


class LocalUp:
    """One `local up`: the target, its app server, and the record of what was created for them."""

    def __init__(self, loaded: LoadedEnvironment, state_dir: Path, *, project_root: Path) -> None:
        self.state_dir = state_dir.resolve()
        env = loaded.env.model_copy(
            update={"local": loaded.env.local.model_copy(update={"state_dir": str(self.state_dir)})}
        )
        self.loaded = replace(loaded, env=env)
        # This process owns the run: if it is killed, the next run sees the owner gone and sweeps its leftovers.
        self.run = RunContext.new()
        self.run_dir = self.state_dir / RUNS_DIR / self.run.run_id
        self._created = _missing_dirs([self.state_dir, *(self.state_dir / part for part in _PARTS)])
        self.target = LocalTarget(self.loaded, project_root=project_root, run=self.run)
        self.target.hooks.before_migrate.append(self._take_baseline)
        # The app server reads ROLLOUT_APP_FAULTS from this process's environment, as in the rehearsal.
        self.server: AppServer = install(self.target)
        self._baseline: Path | None = None

    def start(self, phase: Phase) -> Endpoints:
        """Bring the target to the state just before `phase` (as `pytest --env=local --phase=PHASE` does)."""
        sweep_killed(self.state_dir)
        self.run_dir.mkdir(parents=True)
        (self.run_dir / "owner.json").write_text(json.dumps({"pid": self.run.owner_pid}))
        self.target.advance_to(phase)
        users_csv = self.run_dir / "users.csv"
        self._write_users(users_csv)
        deployed = PHASE_STAGE[phase] == "deployed"
        return Endpoints(
            database_url=self.target.database_url(),
            base_url=self.target.base_url,
            maildir=self.server.sink.maildir if deployed else None,
            users_csv=users_csv,
            baseline=self._baseline,
            anon_key=LOCAL_ANON_KEY if deployed else None,
        )

    @property
    def stage(self) -> str | None:
        return self.target.stage

    def problem(self) -> str | None:
        """Why the target stopped serving (the app or the database server exited), or None while it is up."""
        proc = self.server.proc
        if proc is not None and proc.poll() is not None:
            return f"the reference app exited (code {proc.returncode})"
        if self.target.stage is not None and self.target.cluster.server_pid() is None:
            return "the embedded PostgreSQL server exited"
        return None

    def close(self) -> list[str]:
        """Stop everything and remove what this run created; safe after a failed or interrupted start.
        Returns what could not be cleaned up (one line each); every step is tried regardless."""
        problems = []
        # The app and its sink first (they use the database), then the cluster with its data dir.
        steps = [("stop the app", self.server.cleanup), ("remove the run files", self._remove_run_dir)]
        if self.target.cluster.dir.exists():
            steps.append(("stop the embedded PostgreSQL", self.target.cluster.stop))
        for what, step in steps:
            try:
                step()
            except (FileNotFoundError, NotADirectoryError):
                pass  # never created (a start that failed early): nothing to remove
            except OSError as exc:
                problems.append(f"could not {what}: {exc}")
        self.target.app_url = None
        _remove_created(self._created, lock_dir=self.state_dir / "pg")
        return problems

    # -- internals -----------------------------------------------------------------

    def _remove_run_dir(self) -> None:
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def _take_baseline(self, target: LocalTarget) -> None:
        from rollout_gate.integrity.baseline import capture_for

        path = self.run_dir / "baseline.json"
        # stdout is the dotenv channel (its first lines are read by scripts): the scan plan goes to stderr.
        capture_for(self.loaded.env, target.database_url(), path, report=lambda line: print(line, file=sys.stderr))
        self._baseline = path

    def _write_users(self, path: Path) -> None:
        """A few seeded users (email,password) for `target.auth.users_csv` of an environment pointed here."""
        users = existing_users(self.loaded.env, self.loaded.path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["email", "password"])
            writer.writerows([user.email, user.password] for user in users)


def sweep_killed(state_dir: Path) -> list[str]:
    """Remove the run dirs, mail dirs and app logs of `local up` runs whose process is gone."""
    removed = []
    runs = state_dir / RUNS_DIR
    for run_dir in sorted(runs.iterdir()) if runs.is_dir() else []:
        try:
            owner = int(json.loads((run_dir / "owner.json").read_text())["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not ours, or still being written: leave it alone
        if process_alive(owner):
            continue
        run_id = run_dir.name
        shutil.rmtree(state_dir / "mail" / f"{run_id}-main", ignore_errors=True)
        (state_dir / "logs" / f"app-{run_id}-main.log").unlink(missing_ok=True)
        shutil.rmtree(run_dir, ignore_errors=True)
        removed.append(run_id)
    return removed


def _missing_dirs(paths: list[Path]) -> list[Path]:
    """`paths` and their ancestors that do not exist yet, deepest first (the order to remove them in)."""
    missing: set[Path] = set()
    for path in paths:
        for candidate in [path, *path.parents]:
            if candidate.exists():
                break
            missing.add(candidate)
    return sorted(missing, key=lambda p: len(p.parts), reverse=True)


def _remove_created(created: list[Path], *, lock_dir: Path) -> None:
    """Remove the directories this run created, if nothing else lives in them now (another run might)."""
    for path in created:
        if path == lock_dir and path.is_dir() and [p.name for p in path.iterdir()] == [_LOCK_FILE]:
            (path / _LOCK_FILE).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            path.rmdir()
