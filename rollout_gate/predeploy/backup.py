"""Verify the backup taken before the rollout: it exists, is recent, restores, and matches live.

The environment names a pg_dump file (`backup.path`) or a command that prints one's path
(`backup.command`, e.g. a script that fetches last night's dump). Every problem found is
reported, not just the first: an old backup that also fails to restore says both.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import time
from calendar import timegm
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from rollout_gate.predeploy import pgtools
from rollout_gate.predeploy.config import BackupConfig
from rollout_gate.predeploy.scratch import ScratchServer

_ARCHIVE_CREATED = re.compile(r"^; Archive created at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (\S+)", re.M)


class BackupNotFound(RuntimeError):
    """The configured backup cannot be located (missing file, failing command)."""


@dataclass
class BackupCheck:
    path: Path
    age_hours: float | None = None
    created_from: str = ""  # "archive header" or "file time"
    restored: bool = False
    tables: int = 0
    problems: list[str] = field(default_factory=list)
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # table -> (backup, live)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "age_hours": None if self.age_hours is None else round(self.age_hours, 3),
            "created_from": self.created_from,
            "restored": self.restored,
            "tables": self.tables,
            "problems": self.problems,
            "counts": {t: {"backup": b, "live": live} for t, (b, live) in sorted(self.counts.items())},
            "seconds": round(self.seconds, 3),
        }


def locate(config: BackupConfig, root: Path, *, local_dump: Path | None = None) -> Path:
    """The backup file the environment names (relative paths are from the project root)."""
    if config.path:
        path = Path(config.path).expanduser()
    elif config.command:
        path = Path(_run_locator(config.command, root, config.command_timeout))
    elif config.local_dump and local_dump is not None:
        path = local_dump
    else:
        raise BackupNotFound("no backup configured (predeploy.backup.path or .command)")
    path = path if path.is_absolute() else root / path
    if not path.exists():
        raise BackupNotFound(f"backup {path} does not exist")
    if path.is_file() and path.stat().st_size == 0:
        raise BackupNotFound(f"backup {path} is empty")
    return path


def _run_locator(command: str, root: Path, timeout: float) -> str:
    try:
        proc = subprocess.run(
            shlex.split(command), cwd=root, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackupNotFound(f"backup command failed to run: {type(exc).__name__}") from None
    lines = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        # Only the exit code: the command's output may hold credentials.
        raise BackupNotFound(f"backup command exited {proc.returncode} without printing a path")
    return lines[-1]


def created_at(path: Path, *, bin_dir: str | None = None) -> tuple[float, str]:
    """When the backup was taken: the archive's own header when older than the file's mtime.

    A copied or re-downloaded dump gets a fresh mtime; the header of a custom or tar archive
    keeps the time pg_dump ran. Plain SQL dumps only have the file time.
    """
    mtime = path.stat().st_mtime
    if path.is_file() and pgtools.archive_format(path) in ("custom", "tar"):
        try:
            # In UTC, so the header's time zone is one we can parse.
            listing = pgtools.run("pg_restore", ["--list", str(path)], None, bin_dir=bin_dir, extra_env={"TZ": "UTC"})
        except pgtools.PgToolError:
            return mtime, "file time"
        if (m := _ARCHIVE_CREATED.search(listing)) and m.group(2) == "UTC":
            header = float(timegm(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")))
            if header < mtime:
                return header, "archive header"
    return mtime, "file time"


def verify(
    path: Path,
    config: BackupConfig,
    scratch: ScratchServer,
    target_dsn: str,
    *,
    bin_dir: str | None = None,
    now: float | None = None,
) -> BackupCheck:
    """Age, restore into a scratch database, and row counts against the live target."""
    started = time.perf_counter()
    check = BackupCheck(path)
    created, check.created_from = created_at(path, bin_dir=bin_dir)
    check.age_hours = ((now if now is not None else time.time()) - created) / 3600
    if check.age_hours > config.max_age_hours:
        check.problems.append(
            f"backup is {check.age_hours:.1f} h old ({check.created_from}); at most {config.max_age_hours:g} h allowed"
        )
    try:
        with scratch.database("backup") as restored_dsn:
            try:
                pgtools.restore(restored_dsn, path, bin_dir=bin_dir)
            except pgtools.PgToolError as exc:
                check.problems.append(f"backup does not restore: {exc}")
            else:
                check.restored = True
                _compare_counts(check, restored_dsn, target_dsn, config)
    except psycopg.Error as exc:
        check.problems.append(f"scratch server: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc}")
    check.seconds = time.perf_counter() - started
    return check


def _compare_counts(check: BackupCheck, restored_dsn: str, target_dsn: str, config: BackupConfig) -> None:
    with pgtools.connect(restored_dsn) as restored, pgtools.connect(target_dsn, readonly=True) as live:
        backup_counts = row_counts(restored)
        with live.transaction():
            live.execute("set transaction isolation level repeatable read, read only")
            live.execute("set local row_security = off")  # an error, not a silently filtered count
            live_counts = row_counts(live)
    check.tables = len(backup_counts)
    if not backup_counts:
        check.problems.append("the restored backup holds no tables")
    for table, live_rows in sorted(live_counts.items()):
        backup_rows = backup_counts.get(table)
        if backup_rows is None:
            check.problems.append(f"{table}: in the live database ({live_rows} rows) but not in the backup")
            continue
        check.counts[table] = (backup_rows, live_rows)
        allowed = max(config.row_slack, config.row_tolerance * live_rows)
        if abs(backup_rows - live_rows) > allowed:
            check.problems.append(
                f"{table}: {backup_rows} rows in the backup, {live_rows} live "
                f"({backup_rows - live_rows:+d}; at most {allowed:g} apart)"
            )


def row_counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Exact row counts of every user table (one scan each: the check is worth it before a rollout)."""
    tables = conn.execute(
        """
        select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and not c.relispartition
          and n.nspname not in ('information_schema') and n.nspname not like 'pg\\_%'
        order by 1, 2
        """
    ).fetchall()
    counts = {}
    for schema, table in tables:
        row = conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(schema, table))).fetchone()
        counts[f"{schema}.{table}"] = int(row[0]) if row else 0
    return counts
