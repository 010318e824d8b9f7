"""Runbook: "Zero data loss" after the migration."""

from __future__ import annotations

import psycopg
import pytest

from rollout_gate.config import Environment
from rollout_gate.integrity.compare import compare_for
from rollout_gate.integrity.fingerprint import Snapshot
from rollout_gate.integrity.plan import PlanRefused

pytestmark = [pytest.mark.integrity, pytest.mark.criterion("zero_data_loss")]


def test_every_pre_migration_row_is_unchanged(
    rollout_admin_db: psycopg.Connection, rollout_target_dsn: str, rollout_baseline: Snapshot, rollout_env: Environment
) -> None:
    # rollout_admin_db: the login is checked to see every row (superuser or BYPASSRLS) before comparing.
    try:
        diffs = compare_for(rollout_env, rollout_target_dsn, rollout_baseline)
    except PlanRefused as exc:
        pytest.fail(str(exc), pytrace=False)
    consistency = f"\n(baseline: {rollout_baseline.consistency})" if rollout_baseline.consistency else ""
    assert not diffs, "data changed by the migration:\n" + "\n".join(map(str, diffs)) + consistency
