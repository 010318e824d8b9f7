"""Runbook: "Database backup completed and verified" / counts recorded before migrating."""

from __future__ import annotations

import pytest

from rollout_gate.integrity.baseline import capture
from rollout_gate.session import RolloutSession

pytestmark = [pytest.mark.predeploy, pytest.mark.criterion("baseline_recorded")]


def test_baseline_of_pre_migration_data_is_recorded(target_dsn: str, rollout: RolloutSession) -> None:
    snapshot = capture(target_dsn, list(rollout.loaded.env.tenancy.schemas), rollout.baseline_path)
    empty = sorted(name for name, fp in snapshot.tables.items() if fp.rows == 0)
    assert snapshot.tables, f"no tables found in schemas {rollout.loaded.env.tenancy.schemas}"
    # A baseline of empty tables would make "zero data loss" vacuous.
    assert sum(fp.rows for fp in snapshot.tables.values()) > 0, "every table in scope is empty"
    assert rollout.baseline_path.is_file()
    print(f"baseline: {len(snapshot.tables)} tables, empty: {empty or 'none'}")
