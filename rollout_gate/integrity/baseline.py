"""The pre-deploy baseline: a fingerprint snapshot stored as a file so CI can carry it between jobs."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import psycopg

from rollout_gate.integrity.fingerprint import Snapshot, take_snapshot


def capture(dsn: str, schemas: list[str], path: Path) -> Snapshot:
    # One consistent view of all tables, without blocking writers.
    with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
        conn.execute("set transaction isolation level repeatable read, read only")
        snapshot = take_snapshot(conn, schemas)
    save_atomically(snapshot, path)
    return snapshot


def save_atomically(snapshot: Snapshot, path: Path) -> None:
    """Readers (other xdist workers) never see a half-written baseline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".baseline-", dir=path.parent)
    os.close(fd)
    snapshot.save(Path(tmp))
    os.replace(tmp, path)
