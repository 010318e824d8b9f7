"""Runbook: "Migrations tested on staging with production data copy" / "Rollback procedures tested and validated"."""

from __future__ import annotations

import pytest

from rollout_gate.predeploy.config import PredeployConfig
from rollout_gate.predeploy.rehearsal import Rehearsal
from rollout_gate.pytest.session import RolloutSession

pytestmark = [pytest.mark.predeploy, pytest.mark.criterion("rollback_rehearsal")]


def _ran(rollout_rehearsal: Rehearsal, rollout_session: RolloutSession) -> None:
    if rollout_rehearsal.error:
        pytest.fail(
            rollout_session.loaded.redact(f"the rehearsal could not run: {rollout_rehearsal.error}"), pytrace=False
        )


def test_migration_set_applies_to_a_copy_without_losing_data(
    rollout_rehearsal: Rehearsal, rollout_session: RolloutSession, rollout_predeploy_config: PredeployConfig
) -> None:
    _ran(rollout_rehearsal, rollout_session)
    assert rollout_rehearsal.migration is not None
    print(*rollout_rehearsal.window_lines(), sep="\n")
    assert rollout_rehearsal.migration.failed is None, f"on the copy: {rollout_rehearsal.migration.summary()}"
    assert not rollout_rehearsal.integrity_problems, (
        "the migration changed pre-existing data on the copy: " + "\n".join(rollout_rehearsal.integrity_problems)
    )
    budget = rollout_predeploy_config.rehearsal
    if budget.max_seconds is not None:
        assert rollout_rehearsal.migration.seconds <= budget.max_seconds, (
            f"the migration set took {rollout_rehearsal.migration.seconds:.1f}s on the copy"
            f" (budget {budget.max_seconds:g}s)"
        )
    blocking = rollout_rehearsal.migration.blocking_locks()
    if budget.max_blocking_lock_seconds is not None and blocking:
        assert blocking[0].seconds <= budget.max_blocking_lock_seconds, (
            f"longest blocking lock {blocking[0]} exceeds the budget of {budget.max_blocking_lock_seconds:g}s"
        )


def test_rollback_restores_the_copy_schema_and_data_exactly(
    rollout_rehearsal: Rehearsal, rollout_session: RolloutSession
) -> None:
    _ran(rollout_rehearsal, rollout_session)
    assert rollout_rehearsal.rollback is not None
    assert rollout_rehearsal.rollback.failed is None, f"on the copy: rollback {rollout_rehearsal.rollback.summary()}"
    assert not rollout_rehearsal.round_trip_problems, "migration + rollback did not restore the copy: " + "\n".join(
        rollout_rehearsal.round_trip_problems
    )


def test_applying_the_migration_set_twice_is_idempotent_or_fails_cleanly(
    rollout_rehearsal: Rehearsal, rollout_session: RolloutSession
) -> None:
    _ran(rollout_rehearsal, rollout_session)
    if rollout_rehearsal.second is None:
        pytest.skip("the migration set did not apply once on the copy, so a second application says nothing")
    print(f"second application: {rollout_rehearsal.second_outcome}")
    assert not rollout_rehearsal.idempotency_problems, (
        f"second application {rollout_rehearsal.second_outcome}: " + "\n".join(rollout_rehearsal.idempotency_problems)
    )
