"""Apply a directory of `*.sql` migrations in lexical order, each in its own transaction."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from rollout_gate import db


@dataclass(frozen=True)
class AppliedFile:
    name: str
    seconds: float
    error: str | None = None


@dataclass
class MigrationRun:
    directory: Path
    files: list[AppliedFile] = field(default_factory=list)

    @property
    def failed(self) -> AppliedFile | None:
        return next((f for f in self.files if f.error), None)

    @property
    def seconds(self) -> float:
        return sum(f.seconds for f in self.files)

    def summary(self) -> str:
        """`migrations/0002_x.sql failed: …` or `4 file(s) from migrations/ applied in 1.08s`."""
        bad = self.failed
        if bad:
            return f"{self.directory.name}/{bad.name} failed: {bad.error}"
        return f"{len(self.files)} file(s) from {self.directory.name}/ applied in {self.seconds:.2f}s"


def sql_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.sql") if p.is_file())


def apply_directory(dsn: str, directory: Path, *, connect_timeout: float = 10) -> MigrationRun:
    """Apply every file; stop at the first that fails (its transaction is rolled back)."""
    run = MigrationRun(directory=directory)
    files = sql_files(directory)
    if not files:
        run.files.append(AppliedFile(name="(none)", seconds=0.0, error=f"no *.sql files in {directory}"))
        return run
    # A migration may rewrite large tables: the scan timeout, not the per-check one.
    with db.connect(dsn, connect_timeout=connect_timeout, statement_s=db.DEFAULT_TIMEOUTS.scan_statement_s) as conn:
        for path in files:
            started = time.perf_counter()
            try:
                with conn.transaction():
                    conn.execute(path.read_text(encoding="utf-8"))  # type: ignore[arg-type]
            except psycopg.Error as exc:
                message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                run.files.append(AppliedFile(path.name, time.perf_counter() - started, message))
                break
            run.files.append(AppliedFile(path.name, time.perf_counter() - started))
    return run
