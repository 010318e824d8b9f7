"""The pre-deploy baseline: a fingerprint snapshot stored as a file so CI can carry it between jobs."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from rollout_gate import db
from rollout_gate.catalog.read import rls_restriction
from rollout_gate.config.models import DatabaseTimeouts, Environment
from rollout_gate.integrity.fingerprint import BaselineError, Snapshot, take_snapshot


def capture(
    dsn: str,
    schemas: list[str],
    path: Path,
    *,
    tables: Iterable[str] = (),
    timeouts: DatabaseTimeouts = db.DEFAULT_TIMEOUTS,
    connect_timeout: float = 10.0,
) -> Snapshot:
    """Fingerprint every table of `schemas` (and `tables` elsewhere) and save the snapshot at `path`."""
    # One consistent view of all tables, without blocking writers; whole-table scans get the scan timeout.
    with db.connect(
        dsn, timeouts=timeouts, connect_timeout=connect_timeout, statement_s=timeouts.scan_statement_s
    ) as conn:
        problem = rls_restriction(conn)
        if problem:
            raise BaselineError(problem)
        with conn.transaction():
            conn.execute("set transaction isolation level repeatable read, read only")
            snapshot = take_snapshot(conn, schemas, tables=tables)
    save_atomically(snapshot, path)
    return snapshot


def scope(env: Environment) -> tuple[list[str], list[str]]:
    """What an environment's baseline covers: its schemas, plus the user table wherever it lives."""
    return list(env.tenancy.schemas), [env.tenancy.user_table]


def capture_for(env: Environment, dsn: str, path: Path) -> Snapshot:
    schemas, tables = scope(env)
    target = env.target
    return capture(dsn, schemas, path, tables=tables, timeouts=target.timeouts, connect_timeout=target.connect_timeout)


def save_atomically(snapshot: Snapshot, path: Path) -> None:
    """Readers (other xdist workers) never see a half-written baseline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".baseline-", dir=path.parent)
    os.close(fd)
    snapshot.save(Path(tmp))
    os.replace(tmp, path)
