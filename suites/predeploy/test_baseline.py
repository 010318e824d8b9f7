"""Runbook: "Database backup completed and verified" / counts recorded before migrating."""

from __future__ import annotations

import pytest

from rollout_gate.config import Environment
from rollout_gate.integrity.baseline import capture_for, scope
from rollout_gate.integrity.fingerprint import BaselineError
from rollout_gate.pytest.session import RolloutSession

pytestmark = [pytest.mark.predeploy, pytest.mark.criterion("baseline_recorded")]


def test_baseline_of_pre_migration_data_is_recorded(
    rollout_target_dsn: str, rollout_env: Environment, rollout_session: RolloutSession
) -> None:
    try:  # a plan over integrity.budget is refused here (PlanRefused is a BaselineError), before any scan
        snapshot = capture_for(rollout_env, rollout_target_dsn, rollout_session.baseline_path)
    except BaselineError as exc:
        pytest.fail(str(exc), pytrace=False)
    schemas, tables = scope(rollout_env)
    assert snapshot.tables, f"no tables found in schemas {', '.join(schemas)} (nor {', '.join(tables)})"
    # A baseline of empty tables would make "zero data loss" vacuous.
    assert sum(fp.rows for fp in snapshot.tables.values()) > 0, "every table in scope is empty"
    assert rollout_session.baseline_path.is_file()
    empty = sorted(name for name, fp in snapshot.tables.items() if fp.rows == 0)
    rows = ", ".join(f"{name} {fp.rows}" for name, fp in sorted(snapshot.tables.items()))
    print(f"baseline {rollout_session.baseline_path}: {rows}; empty: {', '.join(empty) or 'none'}")
    print(f"consistency: {snapshot.consistency}")
