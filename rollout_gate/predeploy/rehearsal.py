"""Rehearse the migration set and its rollback on a copy of the target, on the scratch server.

1. Copy: pg_dump the target (schema, plus all, a sample or none of its data) and restore it
   into a scratch database.
2. Baseline of the copy: normalised `pg_dump --schema-only` and data fingerprints.
3. Apply the migration set, sampling its locks; check the copy's data against the baseline.
4. Clone the once-migrated copy and apply the set a second time there: it must be idempotent
   (nothing changes) or fail cleanly (the failing file is rolled back and nothing changed).
5. Apply the rollback set to the copy: schema and fingerprints must equal the baseline.

Every scratch database is dropped at the end, also when a step fails.
"""

from __future__ import annotations

import difflib
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from rollout_gate.integrity.compare import compare
from rollout_gate.integrity.fingerprint import Snapshot, discover_tables, take_snapshot
from rollout_gate.predeploy import pgtools
from rollout_gate.predeploy.config import RehearsalConfig
from rollout_gate.predeploy.locks import SetRun, apply_set
from rollout_gate.predeploy.sample import copy_sampled
from rollout_gate.predeploy.scratch import ScratchServer

_DIFF_LINES = 40


@dataclass
class Rehearsal:
    data: str
    migrations_dir: Path
    rollback_dir: Path
    error: str | None = None  # the rehearsal could not run (copy failed...)
    copy_rows: int = 0
    copy_tables: int = 0
    migration: SetRun | None = None
    integrity_problems: list[str] = field(default_factory=list)
    second: SetRun | None = None
    idempotency_problems: list[str] = field(default_factory=list)
    rollback: SetRun | None = None
    round_trip_problems: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def second_outcome(self) -> str | None:
        """What applying the set a second time did, judged by whether the database changed."""
        if self.second is None:
            return None
        bad = self.second.failed
        if bad is None:
            return "applies again and changes the database" if self.idempotency_problems else "idempotent"
        if self.idempotency_problems:
            return f"fails at {bad.name}, but not cleanly: earlier files changed the database"
        return f"fails cleanly at {bad.name}: {bad.error}"

    def window_lines(self, limit: int = 8) -> list[str]:
        """The maintenance-window summary: per-file durations and the longest blocking locks."""
        if self.migration is None:
            return []
        lines = [f"copy: {self.data} data, {self.copy_tables} tables, {self.copy_rows:,} rows"]
        lines += [f"  {f.name}: {f.seconds:.3f}s" + (f" FAILED: {f.error}" if f.error else "")
                  for f in self.migration.files]  # fmt: skip
        lines.append(f"migration set: {self.migration.seconds:.3f}s")
        blocking = self.migration.blocking_locks()
        lines.append("longest locks blocking pre-existing tables:" if blocking else "no blocking lock was sampled")
        lines += [f"  {lock}" for lock in blocking[:limit]]
        lines += [f"lock sampling incomplete: {error}" for error in self.migration.sampling_errors]
        if self.rollback is not None:
            lines.append(f"rollback set: {self.rollback.seconds:.3f}s")
        return lines

    def to_json(self) -> dict[str, Any]:
        def run(r: SetRun | None) -> dict[str, Any] | None:
            if r is None:
                return None
            return {
                "directory": str(r.directory),
                "seconds": round(r.seconds, 4),
                "files": [{"name": f.name, "seconds": round(f.seconds, 4), "error": f.error} for f in r.files],
                "longest_locks": [lk.to_json() for lk in r.longest_locks(20)],
                "sampling_errors": r.sampling_errors,
            }

        return {
            "data": self.data,
            "error": self.error,
            "copy": {"tables": self.copy_tables, "rows": self.copy_rows},
            "migration": run(self.migration),
            "integrity_problems": self.integrity_problems,
            "second_application": {"outcome": self.second_outcome, "run": run(self.second)},
            "idempotency_problems": self.idempotency_problems,
            "rollback": run(self.rollback),
            "round_trip_problems": self.round_trip_problems,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }


def rehearse(
    target_dsn: str,
    scratch: ScratchServer,
    migrations_dir: Path,
    rollback_dir: Path,
    config: RehearsalConfig,
    *,
    bin_dir: str | None = None,
) -> Rehearsal:
    result = Rehearsal(config.data, migrations_dir, rollback_dir)
    clock = _Clock(result.timings)
    try:
        with tempfile.TemporaryDirectory(prefix="rg-predeploy-") as tmp, scratch.database("copy") as copy_dsn:
            with clock("copy"):
                _make_copy(target_dsn, copy_dsn, Path(tmp) / "target.dump", config, bin_dir)
            with clock("baseline"):
                schemas = user_schemas(copy_dsn)
                schema_before = pgtools.schema_dump(copy_dsn, bin_dir=bin_dir)
                before = snapshot(copy_dsn, schemas)
            result.copy_tables = len(before.tables)
            result.copy_rows = sum(fp.rows for fp in before.tables.values())
            with clock("migrate"):
                result.migration = apply_set(copy_dsn, migrations_dir, interval=config.lock_sample_interval)
            if result.migration.failed is None:
                with clock("integrity"), pgtools.connect(copy_dsn) as conn:
                    result.integrity_problems = [str(d) for d in compare(before, conn, schemas)]
                with clock("second_application"):
                    _second_application(result, scratch, copy_dsn, migrations_dir, bin_dir)
            with clock("rollback"):
                result.rollback = apply_set(copy_dsn, rollback_dir, interval=config.lock_sample_interval)
            with clock("round_trip"):
                result.round_trip_problems = _differences(
                    schema_before, before, copy_dsn, schemas, bin_dir, after="after the rollback"
                )
    except (pgtools.PgToolError, psycopg.Error, OSError, RuntimeError) as exc:
        result.error = _one_line(exc)
    return result


def _make_copy(target_dsn: str, copy_dsn: str, archive: Path, config: RehearsalConfig, bin_dir: str | None) -> None:
    if config.data == "sample":
        pgtools.dump(target_dsn, archive, schema_only=True, sequence_data=True, bin_dir=bin_dir)
        copy_sampled(
            target_dsn, copy_dsn, archive, percent=config.sample_percent,
            whole_below_rows=config.sample_whole_below_rows, bin_dir=bin_dir,
        )  # fmt: skip
        return
    pgtools.dump(target_dsn, archive, schema_only=config.data == "schema-only", bin_dir=bin_dir)
    pgtools.restore(copy_dsn, archive, bin_dir=bin_dir)


def _second_application(
    result: Rehearsal, scratch: ScratchServer, copy_dsn: str, migrations_dir: Path, bin_dir: str | None
) -> None:
    """Apply the set again on a clone of the once-migrated copy; the clone must not change."""
    with scratch.database("again", template=pgtools.dbname_of(copy_dsn)) as again_dsn:
        schemas = user_schemas(again_dsn)
        schema_once = pgtools.schema_dump(again_dsn, bin_dir=bin_dir)
        once = snapshot(again_dsn, schemas)
        result.second = apply_set(again_dsn, migrations_dir, sample_locks=False)
        result.idempotency_problems = _differences(
            schema_once, once, again_dsn, schemas, bin_dir, after="after applying the set a second time"
        )


def _differences(
    schema_before: str, before: Snapshot, dsn: str, schemas: list[str], bin_dir: str | None, *, after: str
) -> list[str]:
    problems = []
    schema_after = pgtools.schema_dump(dsn, bin_dir=bin_dir)
    if schema_after != schema_before:
        problems.append(f"schema differs {after}:\n{schema_diff(schema_before, schema_after)}")
    with pgtools.connect(dsn) as conn:
        problems += [f"data differs {after}: {d}" for d in compare(before, conn, schemas)]
        extra = sorted(set(discover_tables(conn, schemas)) - set(before.tables))
    if extra:
        problems.append(f"tables left over {after}: {', '.join(extra)}")
    return problems


def schema_diff(before: str, after: str, limit: int = _DIFF_LINES) -> str:
    lines = list(difflib.unified_diff(before.splitlines(), after.splitlines(), "before", "after", n=1, lineterm=""))
    more = f"\n... ({len(lines) - limit} more diff lines)" if len(lines) > limit else ""
    return "\n".join(lines[:limit]) + more


def user_schemas(dsn: str) -> list[str]:
    with pgtools.connect(dsn) as conn:
        rows = conn.execute(
            "select nspname from pg_namespace where nspname not in ('information_schema') "
            "and nspname not like 'pg\\_%' order by 1"
        ).fetchall()
    return [r[0] for r in rows]


def snapshot(dsn: str, schemas: list[str]) -> Snapshot:
    with pgtools.connect(dsn) as conn:
        return take_snapshot(conn, schemas)


class _Clock:
    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings
        self._step = ""
        self._started = 0.0

    def __call__(self, step: str) -> _Clock:
        self._step = step
        return self

    def __enter__(self) -> None:
        self._started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timings[self._step] = time.perf_counter() - self._started


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
