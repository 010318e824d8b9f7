"""Fixtures the gate offers tests (registered by the plugin when it is active)."""

from __future__ import annotations

import pytest

from rollout_gate.gate.measurements import MeasurementRecorder


@pytest.fixture
def gate_measurements(request: pytest.FixtureRequest) -> MeasurementRecorder:
    """Record measurements (a load run's p95, error rate…) for the go/no-go criteria that name them."""
    return MeasurementRecorder(request.node.user_properties, request.node.nodeid)
