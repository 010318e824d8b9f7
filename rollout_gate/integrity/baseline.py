"""The pre-deploy baseline: a fingerprint snapshot stored as a file so CI can carry it between jobs."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import psycopg

from rollout_gate.catalog.read import rls_restriction
from rollout_gate.config.models import Environment
from rollout_gate.integrity.fingerprint import BaselineError, Snapshot, take_snapshot


def capture(dsn: str, schemas: list[str], path: Path, *, tables: Iterable[str] = ()) -> Snapshot:
    """Fingerprint every table of `schemas` (and `tables` elsewhere) and save the snapshot at `path`."""
    # One consistent view of all tables, without blocking writers.
    with psycopg.connect(dsn, autocommit=True) as conn:
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
    return capture(dsn, schemas, path, tables=tables)


def save_atomically(snapshot: Snapshot, path: Path) -> None:
    """Readers (other xdist workers) never see a half-written baseline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".baseline-", dir=path.parent)
    os.close(fd)
    snapshot.save(Path(tmp))
    os.replace(tmp, path)
