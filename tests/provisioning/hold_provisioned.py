"""Not collected by `pytest tests` (no test_ prefix): run by test_provisioning_leftovers, then killed mid-run."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from rollout_gate.fixtures.tenants import TenantPair

from rollout_gate.provisioning.tenants import RoleOrg
from rollout_gate.pytest.session import RolloutSession


@pytest.mark.destructive
def test_hold_while_provisioned(
    rollout_tenant_pair: TenantPair, rollout_role_org: RoleOrg, rollout_session: RolloutSession
) -> None:
    Path(os.environ["RG_HOLD_READY"]).write_text(rollout_session.run.prefix)
    threading.Event().wait(float(os.environ.get("RG_HOLD_SECONDS", "120")))  # killed long before
