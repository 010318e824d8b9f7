"""Runbook: "Zero data loss" after the migration."""

from __future__ import annotations

import psycopg
import pytest

from rollout_gate.config import Environment
from rollout_gate.integrity.baseline import scope
from rollout_gate.integrity.compare import compare
from rollout_gate.integrity.fingerprint import Snapshot

pytestmark = [pytest.mark.integrity, pytest.mark.criterion("zero_data_loss")]


def test_every_pre_migration_row_is_unchanged(
    rollout_admin_db: psycopg.Connection, rollout_baseline: Snapshot, rollout_env: Environment
) -> None:
    schemas, _tables = scope(rollout_env)
    diffs = compare(
        rollout_baseline, rollout_admin_db, schemas, report_keys=rollout_env.tenancy.integrity.report_keys,
        scan_s=rollout_env.target.timeouts.scan_statement_s,
    )  # fmt: skip
    assert not diffs, "data changed by the migration:\n" + "\n".join(map(str, diffs))
