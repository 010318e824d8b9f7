"""Runbook: "Rollback plan documented and tested" / "Confirm no data loss occurred" after rolling back."""

from __future__ import annotations

import psycopg
import pytest

from rollout_gate.integrity.compare import compare
from rollout_gate.integrity.fingerprint import Snapshot
from rollout_gate.session import RolloutSession
from rollout_gate.target import Target

pytestmark = [pytest.mark.rollback, pytest.mark.criterion("rollback_restores_v1")]


def test_rolled_back_database_holds_every_pre_migration_row(
    target: Target, target_db: psycopg.Connection, rollout: RolloutSession
) -> None:
    if not rollout.baseline_path.is_file():
        pytest.fail(
            f"no baseline at {rollout.baseline_path}: run the pre-deploy phase first or pass --baseline", pytrace=False
        )
    baseline = Snapshot.load(rollout.baseline_path)
    assert baseline.tables, "the baseline holds no tables"
    diffs = compare(baseline, target_db, list(rollout.loaded.env.tenancy.schemas))
    assert not diffs, "after rollback the data differs from the pre-migration baseline:\n" + "\n".join(map(str, diffs))
