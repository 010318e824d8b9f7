"""Runbook: "Rollback plan documented and tested" / "Confirm no data loss occurred" after rolling back."""

from __future__ import annotations

import psycopg
import pytest

from rollout_gate.config import Environment
from rollout_gate.integrity.baseline import scope
from rollout_gate.integrity.compare import compare
from rollout_gate.integrity.fingerprint import Snapshot

pytestmark = [pytest.mark.rollback, pytest.mark.criterion("rollback_restores_v1")]


def test_rolled_back_database_holds_every_pre_migration_row(
    rollout_admin_db: psycopg.Connection, rollout_baseline: Snapshot, rollout_env: Environment
) -> None:
    schemas, _tables = scope(rollout_env)
    diffs = compare(
        rollout_baseline, rollout_admin_db, schemas, report_keys=rollout_env.tenancy.integrity.report_keys,
        scan_s=rollout_env.target.timeouts.scan_statement_s,
    )  # fmt: skip
    assert not diffs, "after rollback the data differs from the pre-migration baseline:\n" + "\n".join(map(str, diffs))
