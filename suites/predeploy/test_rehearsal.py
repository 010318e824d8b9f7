"""Runbook: "Migrations tested on staging with production data copy" / "Rollback procedures tested and validated"."""

from __future__ import annotations

import pytest

from rollout_gate.predeploy.config import PredeployConfig
from rollout_gate.predeploy.rehearsal import Rehearsal
from rollout_gate.session import RolloutSession

pytestmark = [pytest.mark.predeploy, pytest.mark.criterion("rollback_rehearsal")]


def _ran(rehearsal: Rehearsal, rollout: RolloutSession) -> None:
    if rehearsal.error:
        pytest.fail(rollout.loaded.redact(f"the rehearsal could not run: {rehearsal.error}"), pytrace=False)


def test_migration_set_applies_to_a_copy_without_losing_data(
    rehearsal: Rehearsal, rollout: RolloutSession, predeploy_config: PredeployConfig
) -> None:
    _ran(rehearsal, rollout)
    assert rehearsal.migration is not None
    print(*rehearsal.window_lines(), sep="\n")
    assert rehearsal.migration.failed is None, f"on the copy: {rehearsal.migration.summary()}"
    assert not rehearsal.integrity_problems, "the migration changed pre-existing data on the copy: " + "\n".join(
        rehearsal.integrity_problems
    )
    budget = predeploy_config.rehearsal
    if budget.max_seconds is not None:
        assert rehearsal.migration.seconds <= budget.max_seconds, (
            f"the migration set took {rehearsal.migration.seconds:.1f}s on the copy (budget {budget.max_seconds:g}s)"
        )
    blocking = rehearsal.migration.blocking_locks()
    if budget.max_blocking_lock_seconds is not None and blocking:
        assert blocking[0].seconds <= budget.max_blocking_lock_seconds, (
            f"longest blocking lock {blocking[0]} exceeds the budget of {budget.max_blocking_lock_seconds:g}s"
        )


def test_rollback_restores_the_copy_schema_and_data_exactly(rehearsal: Rehearsal, rollout: RolloutSession) -> None:
    _ran(rehearsal, rollout)
    assert rehearsal.rollback is not None
    assert rehearsal.rollback.failed is None, f"on the copy: rollback {rehearsal.rollback.summary()}"
    assert not rehearsal.round_trip_problems, "migration + rollback did not restore the copy: " + "\n".join(
        rehearsal.round_trip_problems
    )


def test_applying_the_migration_set_twice_is_idempotent_or_fails_cleanly(
    rehearsal: Rehearsal, rollout: RolloutSession
) -> None:
    _ran(rehearsal, rollout)
    if rehearsal.second is None:
        pytest.skip("the migration set did not apply once on the copy, so a second application says nothing")
    print(f"second application: {rehearsal.second_outcome}")
    assert not rehearsal.idempotency_problems, f"second application {rehearsal.second_outcome}: " + "\n".join(
        rehearsal.idempotency_problems
    )
