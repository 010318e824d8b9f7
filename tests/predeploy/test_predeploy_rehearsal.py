"""Rehearsal on a scratch copy: the reference set round-trips, defective sets are caught."""

from __future__ import annotations

from pathlib import Path

import pytest
from predeploy_testing import DATA, REFERENCE_MIGRATIONS, REFERENCE_ROLLBACK, scratch_databases

from rollout_gate.local.target import LocalTarget
from rollout_gate.predeploy import pgtools
from rollout_gate.predeploy.config import RehearsalConfig
from rollout_gate.predeploy.rehearsal import Rehearsal, rehearse, snapshot
from rollout_gate.predeploy.scratch import ScratchRefused, ScratchServer
from rollout_gate.run import RunContext


def run_rehearsal(
    seeded: LocalTarget, scratch: ScratchServer, migrations: Path, rollback: Path, **config: object
) -> Rehearsal:
    result = rehearse(seeded.database_url(), scratch, migrations, rollback, RehearsalConfig.model_validate(config))
    assert not scratch_databases(seeded), "a scratch database was left behind"
    return result


def test_reference_set_round_trips_and_reports_its_locks(seeded: LocalTarget, scratch: ScratchServer) -> None:
    schema_before = pgtools.schema_dump(seeded.database_url())
    result = run_rehearsal(seeded, scratch, REFERENCE_MIGRATIONS, REFERENCE_ROLLBACK)
    assert result.error is None
    assert result.migration is not None and result.migration.failed is None
    assert result.integrity_problems == []
    assert result.rollback is not None and result.rollback.failed is None
    assert result.round_trip_problems == []
    assert result.idempotency_problems == []
    assert result.second_outcome is not None and result.second_outcome.startswith("fails cleanly at 0001")
    assert result.copy_rows > 4000 and result.copy_tables == 5
    # 0002 adds the tenant keys and backfills them in one transaction: ACCESS EXCLUSIVE until it commits.
    held = {(lk.relation, lk.mode, lk.file) for lk in result.migration.blocking_locks()}
    assert ("public.time_entries", "AccessExclusiveLock", "0002_tenant_columns_backfill.sql") in held
    assert [f.name for f in result.migration.files] == sorted(p.name for p in REFERENCE_MIGRATIONS.glob("*.sql"))
    assert any("0002_tenant_columns_backfill.sql" in line for line in result.window_lines())
    assert pgtools.schema_dump(seeded.database_url()) == schema_before, "the rehearsal touched the target"


def test_rollback_that_loses_a_column_s_data_is_caught(seeded: LocalTarget, scratch: ScratchServer) -> None:
    bad = DATA / "rollback_loses_column"
    result = run_rehearsal(seeded, scratch, bad / "migrations", bad / "rollback")
    assert result.error is None and result.integrity_problems == []
    assert result.rollback is not None and result.rollback.failed is None
    # The schema round-trips exactly; the data fingerprint of clients does not.
    assert not any(p.startswith("schema differs") for p in result.round_trip_problems)
    assert any(p.startswith("data differs after the rollback: public.clients") for p in result.round_trip_problems)


def test_a_second_application_that_duplicates_rows_is_caught(seeded: LocalTarget, scratch: ScratchServer) -> None:
    bad = DATA / "not_idempotent"
    result = run_rehearsal(seeded, scratch, bad / "migrations", bad / "rollback")
    assert result.round_trip_problems == []
    assert result.second_outcome == "applies again and changes the database"
    assert any("public.project_labels" in p for p in result.idempotency_problems), result.idempotency_problems


def test_a_failing_migration_still_rehearses_the_rollback_and_drops_the_copy(
    seeded: LocalTarget, scratch: ScratchServer, tmp_path: Path
) -> None:
    (tmp_path / "0001_ok.sql").write_text("create table public.extra (id int primary key);\n")
    (tmp_path / "0002_broken.sql").write_text("alter table public.projects add column x int not nul;\n")
    result = run_rehearsal(seeded, scratch, tmp_path, DATA / "blocking_index" / "rollback")
    assert result.migration is not None and result.migration.failed is not None
    assert "0002_broken.sql failed: syntax error" in result.migration.summary()
    assert result.second is None  # nothing to apply twice
    assert any("public.extra" in p for p in result.round_trip_problems)  # the rollback does not know 0001


def test_sampled_copy_keeps_foreign_keys_and_round_trips(seeded: LocalTarget, scratch: ScratchServer) -> None:
    full = snapshot(seeded.database_url(), ["auth", "public"])
    result = run_rehearsal(
        seeded, scratch, REFERENCE_MIGRATIONS, REFERENCE_ROLLBACK, data="sample", sample_percent=20,
        sample_whole_below_rows=500,
    )  # fmt: skip
    assert result.error is None and result.round_trip_problems == [] and result.integrity_problems == []
    assert 0 < result.copy_rows < sum(fp.rows for fp in full.tables.values())


def test_schema_only_copy_round_trips(seeded: LocalTarget, scratch: ScratchServer) -> None:
    result = run_rehearsal(seeded, scratch, REFERENCE_MIGRATIONS, REFERENCE_ROLLBACK, data="schema-only")
    assert result.error is None and result.copy_rows == 0 and result.round_trip_problems == []


def test_an_unreachable_scratch_server_is_an_error_not_a_pass(seeded: LocalTarget) -> None:
    dead = ScratchServer("postgresql://postgres:x@127.0.0.1:9/postgres", RunContext.new(), connect_timeout=1)
    result = rehearse(seeded.database_url(), dead, REFERENCE_MIGRATIONS, REFERENCE_ROLLBACK, RehearsalConfig())
    assert result.error is not None and result.migration is None


@pytest.mark.parametrize(
    ("scratch_url", "allow_writes", "refused"),
    [
        ("postgresql://u:p@db.example.com:5432/postgres", False, True),  # the target's own server
        ("postgresql://u:p@DB.example.com/postgres", False, True),  # same server, default port
        ("postgresql://u:p@db.example.com:5432/postgres", True, False),  # writes allowed (staging)
        ("postgresql://u:p@scratch.example.com:5432/postgres", False, False),  # a separate scratch server
    ],
)
def test_scratch_databases_never_go_to_a_write_protected_target_server(
    scratch_url: str, allow_writes: bool, refused: bool
) -> None:
    target = "postgresql://ro:secret@db.example.com:5432/app"
    check = {"target_dsn": target, "allow_writes": allow_writes, "is_local": False, "timeout": 1}
    if refused:
        with pytest.raises(ScratchRefused, match="forbids writes"):
            ScratchServer.checked(scratch_url, RunContext.new(), **check)  # type: ignore[arg-type]
    else:
        ScratchServer.checked(scratch_url, RunContext.new(), **check)  # type: ignore[arg-type]


def test_scratch_server_only_drops_its_own_databases() -> None:
    with pytest.raises(ScratchRefused, match="not a scratch database"):
        ScratchServer("postgresql://u:p@127.0.0.1:9/postgres", RunContext.new()).drop("app")
