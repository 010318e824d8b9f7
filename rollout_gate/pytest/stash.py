"""Keys for run state kept in `config.stash` and `item.stash`."""

from __future__ import annotations

import pytest

from rollout_gate.phases import Phase
from rollout_gate.pytest.session import RolloutSession

session_key = pytest.StashKey[RolloutSession]()
phase_key = pytest.StashKey[Phase]()
