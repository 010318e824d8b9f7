"""Keys for run state kept in `config.stash` and `item.stash`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from rollout_gate.phases import Phase

if TYPE_CHECKING:
    from rollout_gate.session import RolloutSession

session_key = pytest.StashKey["RolloutSession"]()
phase_key = pytest.StashKey[Phase]()
