"""Runbook: "Rollback plan documented and tested" / "Verify rollback success": the schema is v1's again."""

from __future__ import annotations

import psycopg
import pytest

from rollout_gate.integrity.fingerprint import BaselineError
from rollout_gate.integrity.schema_snapshot import SchemaSnapshot, compare_schemas, take_schema_snapshot
from rollout_gate.pytest.session import RolloutSession
from rollout_gate.target import Target

pytestmark = [pytest.mark.rollback, pytest.mark.criterion("rollback_restores_schema")]


def test_rolled_back_schema_matches_the_pre_deploy_snapshot(
    rollout_target: Target, rollout_admin_db: psycopg.Connection, rollout_session: RolloutSession
) -> None:
    """Tables, columns, constraints, indexes, policies, RLS flags, functions, triggers, types and grants."""
    path = rollout_session.baseline_path
    if not path.is_file():
        pytest.fail(f"no baseline at {path}: run the pre-deploy phase first or pass --baseline", pytrace=False)
    try:
        before = SchemaSnapshot.from_baseline(path)
    except BaselineError as exc:
        pytest.fail(str(exc), pytrace=False)
    if before is None:
        pytest.skip(f"inconclusive: the baseline {path} holds no schema snapshot: take it again with this harness")
    findings = compare_schemas(before, take_schema_snapshot(rollout_admin_db, before.schemas))
    assert not findings, (
        f"after rollback the schema differs from the pre-deploy snapshot ({len(findings)} finding(s)):\n"
        + "\n".join(map(str, findings))
    )
