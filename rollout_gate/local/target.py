"""The local rehearsal: a seeded v1 database walked through the rollout phase by phase.

Stages, in rollout order: `seeded` (v1 with data: pre-deploy), `migrated`
(baseline taken, v2 applied: post-migration), `deployed` (the app runs on v2:
post-deploy and load), `rolled_back` (rollback applied, the old app version serving: post-rollback). A
test asks for its phase; the target advances to it and never goes back.
Each pytest process (each xdist worker) works on its own database, cloned
from one seeded template per run, so workers never collide.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from rollout_gate import db
from rollout_gate import reference_app as reference
from rollout_gate.config import LoadedEnvironment
from rollout_gate.local.cluster import ClusterError, ClusterInfo, EmbeddedCluster
from rollout_gate.migrations import MigrationRun, apply_directory, sql_files
from rollout_gate.phases import Phase
from rollout_gate.run import RunContext
from rollout_gate.target import TargetError

if TYPE_CHECKING:
    from rollout_gate.local.prometheus import LocalPrometheus

MIGRATIONS_ENV = "ROLLOUT_MIGRATIONS_DIR"
ROLLBACK_ENV = "ROLLOUT_ROLLBACK_DIR"
APP_ROLE = "rg_app"
APP_PASSWORD = "rg_app"

STAGES = ("seeded", "migrated", "deployed", "rolled_back")
PHASE_STAGE: dict[Phase, str] = {
    Phase.PRE_DEPLOY: "seeded",
    Phase.POST_MIGRATION: "migrated",
    Phase.POST_DEPLOY: "deployed",
    Phase.LOAD: "deployed",
    Phase.WATCH: "deployed",
    Phase.POST_ROLLBACK: "rolled_back",
}

# A hook's return value is ignored (a baseline hook returns its snapshot).
Hook = Callable[["LocalTarget"], object]


@dataclass
class LocalHooks:
    """Steps other parts of the harness add to a stage transition (baseline, app start...)."""

    before_migrate: list[Hook] = field(default_factory=list)
    deploy: list[Hook] = field(default_factory=list)
    before_rollback: list[Hook] = field(default_factory=list)
    # Run once the rollback set is applied (start the old app version...).
    after_rollback: list[Hook] = field(default_factory=list)
    # Run by close(), before the database is dropped (stop the app, drop its mail...).
    close: list[Hook] = field(default_factory=list)


class LocalTarget:
    rehearsal = True

    def __init__(
        self,
        loaded: LoadedEnvironment,
        *,
        project_root: Path,
        run: RunContext,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.loaded = loaded
        self.run = run
        self.project_root = project_root
        environ = os.environ if environ is None else environ
        local = loaded.env.local
        self.migrations_dir = self._dir(environ.get(MIGRATIONS_ENV) or local.migrations_dir, reference.migrations_dir)
        self.rollback_dir = self._dir(environ.get(ROLLBACK_ENV) or local.rollback_dir, reference.rollback_dir)
        self.schema_dir = reference.schema_dir()
        self.cluster = EmbeddedCluster(project_root / local.state_dir, run.run_id, run.owner_pid)
        self.dbname = f"rg_{run.worker_id}".replace("-", "_")
        self.stage: str | None = None
        self.hooks = LocalHooks()
        self.migration: MigrationRun | None = None
        self.rollback: MigrationRun | None = None
        self.timings: dict[str, float] = {}
        self.app_url: str | None = None
        # The watch phase's Prometheus, started on first use (rollout_gate/local/prometheus.py).
        self.prometheus: LocalPrometheus | None = None
        self._info: ClusterInfo | None = None
        self._failure: str | None = None

    # -- Target protocol -----------------------------------------------------------

    @property
    def base_url(self) -> str | None:
        return self.app_url

    def database_url(self) -> str:
        return self.info.dsn(self.dbname)

    def app_database_url(self) -> str:
        """The reference app's own login: not the owner of any table, so RLS applies to it."""
        return self.info.dsn(self.dbname, user=APP_ROLE, password=APP_PASSWORD)

    def advance_to(self, phase: Phase) -> None:
        wanted = PHASE_STAGE[phase]
        if self._failure:
            raise TargetError(self._failure)
        if self.stage is None:
            self.start()
        assert self.stage is not None
        if STAGES.index(wanted) < STAGES.index(self.stage):
            raise TargetError(
                f"the local target is already at {self.stage!r} and cannot go back for a {phase} test "
                "(tests must run in rollout order)"
            )
        while self.stage != wanted:
            nxt = STAGES[STAGES.index(self.stage) + 1]
            try:
                self._transition(nxt)
            except TargetError as exc:
                self._failure = str(exc)
                raise
            except Exception as exc:
                # A hook (baseline, app start) broke: every later phase must see it, not a half-done stage.
                detail = str(exc).strip().splitlines()
                self._failure = (
                    f"local target could not reach {nxt!r}: {type(exc).__name__}: {detail[0] if detail else ''}"
                )
                raise TargetError(self._failure) from exc
            self.stage = nxt

    def migration_sets(self) -> tuple[Path, Path] | None:
        return self.migrations_dir, self.rollback_dir

    def scratch_dsn(self) -> str | None:
        return self.info.dsn()

    def mailbox_dir(self) -> Path | None:
        run = self.run
        return self.project_root / self.loaded.env.local.state_dir / "mail" / f"{run.run_id}-{run.worker_id}"

    def close(self) -> None:
        """Drop this process's database. The controller stops the whole cluster."""
        for hook in self.hooks.close:
            hook(self)
        if self._info is None:
            return
        try:
            with db.connect(self.info.dsn()) as conn:
                conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(self.dbname)))
        except psycopg.Error:
            pass  # the cluster is deleted at the end of the run anyway

    # -- setup -----------------------------------------------------------------------

    @property
    def info(self) -> ClusterInfo:
        if self._info is None:
            raise TargetError("the local target has not been started")
        return self._info

    def start(self) -> None:
        """Start (or attach to) the run's server and clone a fresh v1 database from the template."""
        started = time.perf_counter()
        try:
            self._info = self.cluster.ensure_running()
        except ClusterError as exc:
            self._failure = str(exc)
            raise TargetError(str(exc)) from None
        with self.cluster.lock(), db.connect(self.info.dsn(), statement_s=db.DEFAULT_TIMEOUTS.scan_statement_s) as conn:
            template = self._ensure_template(conn)
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(self.dbname)))
            conn.execute(
                sql.SQL("create database {} template {}").format(sql.Identifier(self.dbname), sql.Identifier(template))
            )
        self.stage = "seeded"
        self.timings["start"] = time.perf_counter() - started

    def _ensure_template(self, conn: psycopg.Connection) -> str:
        """Seed the v1 template once per run (under the cluster lock)."""
        scale = self.loaded.env.local.scale
        template = f"rg_template_{scale.users}_{scale.rows}_{scale.seed}"
        exists = conn.execute("select 1 from pg_database where datname = %s", (template,)).fetchone()
        if exists:
            return template
        started = time.perf_counter()
        building = f"{template}_building"
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(building)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(building)))
        with db.connect(self.info.dsn(building), statement_s=db.DEFAULT_TIMEOUTS.scan_statement_s) as conn_v1:
            for path in sql_files(self.schema_dir):
                with conn_v1.transaction():
                    conn_v1.execute(path.read_text(encoding="utf-8"))  # type: ignore[arg-type]
            from rollout_gate.reference_app.seed import seed  # the local extra; imported only when seeding

            seed(conn_v1, users=scale.users, rows=scale.rows, seed=scale.seed)
            conn_v1.execute("vacuum analyze")
        conn.execute(
            sql.SQL("alter database {} rename to {}").format(sql.Identifier(building), sql.Identifier(template))
        )
        conn.execute(sql.SQL("alter database {} is_template true").format(sql.Identifier(template)))
        self.timings["seed"] = time.perf_counter() - started
        return template

    # -- transitions -----------------------------------------------------------------

    def _transition(self, stage: str) -> None:
        started = time.perf_counter()
        if stage == "migrated":
            for hook in self.hooks.before_migrate:
                hook(self)
            self.migration = apply_directory(self.database_url(), self.migrations_dir)
            if self.migration.failed:
                raise TargetError(f"migration {self.migration.summary()}")
        elif stage == "deployed":
            for hook in self.hooks.deploy:
                hook(self)
        elif stage == "rolled_back":
            for hook in self.hooks.before_rollback:
                hook(self)
            self.rollback = apply_directory(self.database_url(), self.rollback_dir)
            if self.rollback.failed:
                raise TargetError(f"rollback {self.rollback.summary()}")
            for hook in self.hooks.after_rollback:
                hook(self)
        self.timings[stage] = time.perf_counter() - started

    def _dir(self, value: str | None, default: Callable[[], Path]) -> Path:
        if not value:
            return default()
        path = Path(value)
        return path if path.is_absolute() else (self.project_root / path)
