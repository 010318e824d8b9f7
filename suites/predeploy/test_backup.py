"""Runbook: "Database backup completed and verified" / "Backup procedures tested"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rollout_gate.fixtures.predeploy import REPORT_PROPERTY

from rollout_gate.predeploy.backup import verify
from rollout_gate.predeploy.config import PredeployConfig
from rollout_gate.predeploy.scratch import ScratchServer
from rollout_gate.pytest.session import RolloutSession

pytestmark = [pytest.mark.predeploy, pytest.mark.criterion("backup_verified")]


def test_backup_is_recent_restores_and_matches_live_row_counts(
    rollout_backup_file: Path,
    rollout_scratch_server: ScratchServer,
    rollout_target_dsn: str,
    rollout_predeploy_config: PredeployConfig,
    rollout_session: RolloutSession,
    record_property: Any,
) -> None:
    check = verify(
        rollout_backup_file,
        rollout_predeploy_config.backup,
        rollout_scratch_server,
        rollout_target_dsn,
        bin_dir=rollout_predeploy_config.pg_bin_dir,
    )
    record_property(REPORT_PROPERTY, {"backup": check.to_json()})
    print(f"backup {check.path}: {check.age_hours:.2f} h old ({check.created_from}), {check.tables} tables")
    assert check.ok, rollout_session.loaded.redact(f"backup {check.path}: " + "\n".join(check.problems))
