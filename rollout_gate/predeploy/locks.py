"""Apply migration files one transaction each while sampling the locks they hold.

A second session reads `pg_locks` for the migrating backend every `interval` seconds. A lock
taken inside a file's transaction is held until that transaction ends, so its hold time is
from the first sample that saw it to the file's commit (or rollback): the resolution is the
sampling interval. That is what a maintenance window has to cover: the longest lock that
blocks reads or writes of a table the running application uses.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from rollout_gate import db
from rollout_gate.migrations import AppliedFile, MigrationRun, sql_files

# Table lock modes and what they block for other sessions' ordinary reads and writes.
BLOCKS = {
    "AccessExclusiveLock": "reads and writes",
    "ExclusiveLock": "writes",
    "ShareRowExclusiveLock": "writes",
    "ShareLock": "writes",
}
_FIRST_USER_OID = 16384  # FirstNormalObjectId: below it are the system catalogs


@dataclass(frozen=True)
class HeldLock:
    file: str
    relation: str
    mode: str
    seconds: float
    existed_before: bool  # the relation was there before the set ran: live traffic uses it

    @property
    def blocks(self) -> str:
        return BLOCKS.get(self.mode, "nothing")

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "relation": self.relation,
            "mode": self.mode,
            "seconds": round(self.seconds, 4),
            "blocks": self.blocks,
            "existed_before": self.existed_before,
        }

    def __str__(self) -> str:
        new = "" if self.existed_before else ", new"
        return f"{self.relation} {self.mode} {self.seconds:.3f}s in {self.file} (blocks {self.blocks}{new})"


@dataclass
class SetRun(MigrationRun):
    """One application of a migration (or rollback) set, file by file, with the locks it held."""

    locks: list[HeldLock] = field(default_factory=list)
    # A sampler that could not read pg_locks leaves the lock report incomplete; it says so.
    sampling_errors: list[str] = field(default_factory=list)

    def blocking_locks(self) -> list[HeldLock]:
        """Locks that block other sessions on pre-existing relations, longest first."""
        return sorted((lk for lk in self.locks if lk.existed_before and lk.blocks != "nothing"), key=_longest)

    def longest_locks(self, limit: int = 10) -> list[HeldLock]:
        return sorted(self.locks, key=_longest)[:limit]


def _longest(lock: HeldLock) -> tuple[float, str]:
    return (-lock.seconds, lock.relation)


class _Sampler(threading.Thread):
    def __init__(self, dsn: str, pid: int, interval: float) -> None:
        super().__init__(name="rollout-lock-sampler", daemon=True)
        self.dsn, self.pid, self.interval = dsn, pid, interval
        self.first_seen: dict[tuple[int, str], float] = {}
        self.error: str | None = None
        self._stop_event = threading.Event()
        self._ready = threading.Event()

    def run(self) -> None:
        try:
            with db.connect(self.dsn) as conn:
                self._ready.set()
                while not self._stop_event.is_set():
                    now = time.perf_counter()
                    rows = conn.execute(
                        "select relation::int8, mode from pg_locks "
                        "where pid = %s and locktype = 'relation' and granted and relation >= %s",
                        (self.pid, _FIRST_USER_OID),
                    ).fetchall()
                    for oid, mode in rows:
                        self.first_seen.setdefault((int(oid), str(mode)), now)
                    self._stop_event.wait(self.interval)
        except psycopg.Error as exc:
            self.error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        finally:
            self._ready.set()

    def start_and_wait(self) -> None:
        self.start()
        self._ready.wait(10)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(10)


def apply_set(dsn: str, directory: Path, *, interval: float = 0.02, sample_locks: bool = True) -> SetRun:
    """Apply every file in its own transaction, stopping at the first that fails (rolled back)."""
    result = SetRun(directory=directory)
    files = sql_files(directory)
    if not files:
        result.files.append(AppliedFile("(none)", 0.0, f"no *.sql files in {directory}"))
        return result
    with db.connect(
        dsn, statement_s=db.DEFAULT_TIMEOUTS.scan_statement_s, application_name="rollout-gate rehearsal"
    ) as conn:
        before = {int(r[0]) for r in conn.execute("select oid::int8 from pg_class where oid >= %s", (_FIRST_USER_OID,))}
        pid = conn.info.backend_pid
        for path in files:
            sampler = _Sampler(dsn, pid, interval) if sample_locks else None
            if sampler:
                sampler.start_and_wait()
            started = time.perf_counter()
            error = None
            try:
                with conn.transaction():
                    conn.execute(path.read_text(encoding="utf-8"))  # type: ignore[arg-type]
            except psycopg.Error as exc:
                error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            ended = time.perf_counter()
            if sampler:
                sampler.stop()
                result.locks += _held(conn, path.name, sampler.first_seen, ended, before)
                if sampler.error:
                    result.sampling_errors.append(f"{path.name}: {sampler.error}")
            result.files.append(AppliedFile(path.name, ended - started, error))
            if error:
                break
    return result


def _held(
    conn: psycopg.Connection[Any], file: str, first_seen: dict[tuple[int, str], float], ended: float, before: set[int]
) -> list[HeldLock]:
    oids = sorted({oid for oid, _ in first_seen})
    names = dict(
        conn.execute(
            "select c.oid::int8, format('%%I.%%I', n.nspname, c.relname) "
            "from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = any(%s)",
            (oids,),
        ).fetchall()
    )
    return [
        HeldLock(file, str(names.get(oid, f"(dropped relation {oid})")), mode, max(ended - seen, 0.0), oid in before)
        for (oid, mode), seen in first_seen.items()
    ]
