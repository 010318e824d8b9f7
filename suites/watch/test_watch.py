"""Runbook "Monitoring During Deployment": error rate > 5% for 2 minutes (warn), > 10% for 5 minutes
(rollback), p95 > 1000 ms for 5 minutes, failed sign-ins > 2%, ensurePersonalWorkspace failures > 10
in 5 minutes.

One test per watch criterion, all judged over one watch of the deployed target (`rollout_watch`):
a sustained breach fails with the criterion's action; missing, stale or unreadable data is skipped
with its reason, which the gate counts as inconclusive, never as a pass.
"""

from __future__ import annotations

import pytest

from rollout_gate.gate.measurements import MeasurementRecorder
from rollout_gate.pytest.stash import session_key
from rollout_gate.watch.runner import WatchOutcome
from rollout_gate.watch.window import State

pytestmark = [pytest.mark.watch]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "watch_criterion" not in metafunc.fixturenames:
        return
    session = metafunc.config.stash.get(session_key, None)
    criteria = session.loaded.env.watch.criteria if session is not None else ()
    params = [pytest.param(c.id, marks=pytest.mark.criterion(c.id), id=c.id) for c in criteria]
    metafunc.parametrize("watch_criterion", params)


def test_signal_stays_within_its_trigger_over_the_window(
    watch_criterion: str, rollout_watch: object, rollout_measurements: MeasurementRecorder
) -> None:
    if not isinstance(rollout_watch, WatchOutcome):
        rollout_measurements.record(f"watch.{watch_criterion}", None, error=str(getattr(rollout_watch, "reason", "")))
        pytest.skip(f"inconclusive: {getattr(rollout_watch, 'reason', 'not watched')}")
    result = rollout_watch.results[watch_criterion]
    value = result.fired_value if result.fired_value is not None else result.current
    if value is None:
        rollout_measurements.record(f"watch.{watch_criterion}", None, error=result.reason)
    else:
        rollout_measurements.record(f"watch.{watch_criterion}", value, result.samples)
    if result.state == State.FAIL:
        early = f" (watch ended early at {rollout_watch.elapsed_s:.0f}s)" if rollout_watch.stopped_early else ""
        pytest.fail(f"{result.reason}{early}", pytrace=False)
    if result.state != State.PASS:
        pytest.skip(f"inconclusive: {result.reason}")
    assert result.samples >= 1
