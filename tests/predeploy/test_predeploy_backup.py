"""Backup verification: a fresh dump passes; stale, corrupt, incomplete and missing backups are caught."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import psycopg
import pytest
from predeploy_testing import DATA, scratch_databases

from rollout_gate.local.target import LocalTarget
from rollout_gate.predeploy import pgtools
from rollout_gate.predeploy.backup import BackupCheck, BackupNotFound, locate, verify
from rollout_gate.predeploy.config import BackupConfig
from rollout_gate.predeploy.scratch import ScratchServer

DAY = 24 * 3600


@pytest.fixture(scope="module")
def fresh_dump(seeded: LocalTarget, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Last night's backup of the seeded target: a custom-format pg_dump."""
    path = tmp_path_factory.mktemp("backup") / "nightly.dump"
    pgtools.dump(seeded.database_url(), path)
    return path


@pytest.fixture
def backup(fresh_dump: Path, tmp_path: Path) -> Path:
    """A copy of the fresh dump a test may age or damage."""
    path = tmp_path / "backup.dump"
    shutil.copy2(fresh_dump, path)
    return path


def check(
    path: Path, seeded: LocalTarget, scratch: ScratchServer, now: float | None = None, **config: object
) -> BackupCheck:
    result = verify(path, BackupConfig.model_validate(config), scratch, seeded.database_url(), now=now)
    assert not scratch_databases(seeded), "the restore database was left behind"
    return result


def test_fresh_backup_restores_and_matches_live(backup: Path, seeded: LocalTarget, scratch: ScratchServer) -> None:
    result = check(backup, seeded, scratch, row_tolerance=0)
    assert result.ok, result.problems
    assert result.restored and result.tables == 5 and result.age_hours is not None and result.age_hours < 1
    assert all(b == live for b, live in result.counts.values())


def test_stale_backup_is_caught(backup: Path, seeded: LocalTarget, scratch: ScratchServer) -> None:
    old = time.time() - 3 * DAY
    os.utime(backup, (old, old))
    result = check(backup, seeded, scratch, max_age_hours=26)
    assert [p for p in result.problems if "h old" in p] == [
        f"backup is {result.age_hours:.1f} h old (file time); at most 26 h allowed"
    ]
    assert result.restored  # still restored and compared: every problem is reported


def test_a_copied_backup_keeps_its_age_from_the_archive_header(
    backup: Path, seeded: LocalTarget, scratch: ScratchServer
) -> None:
    # Copied to the backup store two days after pg_dump ran, checked a day later: the file is a
    # day old, the backup three days. The custom-format header keeps the time pg_dump ran.
    dumped = time.time()
    os.utime(backup, (dumped + 2 * DAY, dumped + 2 * DAY))
    result = check(backup, seeded, scratch, now=dumped + 3 * DAY, max_age_hours=26)
    assert result.created_from == "archive header"
    assert result.age_hours is not None and result.age_hours > 71
    assert any("h old (archive header)" in p for p in result.problems)


def test_truncated_backup_is_caught(backup: Path, seeded: LocalTarget, scratch: ScratchServer) -> None:
    with open(backup, "r+b") as handle:
        handle.truncate(backup.stat().st_size // 2)
    result = check(backup, seeded, scratch)
    assert not result.restored
    assert any(p.startswith("backup does not restore: pg_restore failed") for p in result.problems), result.problems


def test_garbage_backup_is_caught(tmp_path: Path, seeded: LocalTarget, scratch: ScratchServer) -> None:
    garbage = tmp_path / "garbage.dump"
    garbage.write_bytes(b"PGDMP" + os.urandom(4096))
    result = check(garbage, seeded, scratch)
    assert not result.restored and any("does not restore" in p for p in result.problems)


def test_truncated_plain_sql_backup_is_caught(seeded: LocalTarget, scratch: ScratchServer) -> None:
    result = check(DATA / "backups" / "truncated.sql", seeded, scratch)
    assert not result.restored
    assert any(p.startswith("backup does not restore: psql failed") for p in result.problems), result.problems


def test_backup_missing_rows_of_live_tables_is_caught(
    backup: Path, seeded: LocalTarget, scratch: ScratchServer, tmp_path: Path
) -> None:
    # A backup of a database that lacks part of live's data: restore it, delete rows, dump again.
    with scratch.database("shrunk") as shrunk:
        pgtools.restore(shrunk, backup)
        with psycopg.connect(shrunk, autocommit=True) as conn:
            conn.execute("delete from public.time_entries where random() < 0.05")
        partial = tmp_path / "partial.dump"
        pgtools.dump(shrunk, partial)
    result = check(partial, seeded, scratch, row_tolerance=0.01)
    assert any(p.startswith("public.time_entries:") and "rows in the backup" in p for p in result.problems)
    assert check(partial, seeded, scratch, row_tolerance=0.2).ok


def test_backup_is_located_by_path_or_command(backup: Path, tmp_path: Path) -> None:
    assert locate(BackupConfig(path=str(backup)), tmp_path) == backup
    printer = f"{sys.executable} -c \"print('noise'); print({str(backup)!r})\""
    assert locate(BackupConfig(command=printer), tmp_path) == backup
    with pytest.raises(BackupNotFound, match="does not exist"):
        locate(BackupConfig(path="nowhere.dump"), tmp_path)
    secret_failure = f"{sys.executable} -c \"print('postgresql://u:hunter22@db/app'); raise SystemExit(3)\""
    with pytest.raises(BackupNotFound, match="exited 3") as raised:
        locate(BackupConfig(command=secret_failure), tmp_path)
    assert "hunter22" not in str(raised.value)
    with pytest.raises(BackupNotFound, match="no backup configured"):
        locate(BackupConfig(), tmp_path)
