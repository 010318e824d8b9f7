"""An observation as gate measurements, and the load run's own verdict (the same criteria as the gate)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from rollout_gate.config import LoadedEnvironment
from rollout_gate.gate.files import KIND_MEASUREMENTS, RunInfo, load_gate_file
from rollout_gate.gate.measurements import Measurement
from rollout_gate.gate.verdict import Decision
from rollout_gate.load.observation import LoadObservation
from rollout_gate.phases import Phase


def measurements(obs: LoadObservation, *, sustained_window_s: int, source: str) -> list[Measurement]:
    """Every number the load criteria judge. No requests means zero samples: inconclusive, never a pass."""
    checked = max(obs.requests - obs.login_requests, 0)
    worst = obs.worst_window(sustained_window_s)
    # A run shorter than the window cannot show "sustained": its whole-run rate stands in (documented).
    sustained, sustained_samples = (worst.rate, worst.requests) if worst else (obs.error_rate or 0.0, obs.requests)

    def m(name: str, value: float | None, samples: int, unit: str = "") -> Measurement:
        return Measurement(
            name=name, value=value if value is not None else 0.0, samples=samples, unit=unit, source=source
        )

    return [
        m("load.p50_ms", obs.p50_ms, obs.requests, "ms"),
        m("load.p95_ms", obs.p95_ms, obs.requests, "ms"),
        m("load.p99_ms", obs.p99_ms, obs.requests, "ms"),
        m("load.rps", obs.rps, obs.requests, "req/s"),
        m("load.error_rate", obs.error_rate, obs.requests),
        m("load.error_rate_sustained", sustained, sustained_samples),
        m("load.login_failure_rate", obs.login_failure_rate, obs.login_requests),
        m("load.cross_tenant_hits", float(obs.leaks), checked),
    ]


def write_result(
    path: Path,
    loaded: LoadedEnvironment,
    obs: LoadObservation,
    found: list[Measurement],
    *,
    run_id: str | None = None,
    target: str | None = None,
) -> None:
    """A gate file of kind `measurements` that `rollout-gate verdict` and the pytest load phase read.

    Written beside its final name and renamed into place, so `path` is either absent or a whole file of
    a run that ended; `run_id` names the harness run it belongs to (None for a standalone run).
    """
    payload = {
        "schema_version": 1,
        "kind": KIND_MEASUREMENTS,
        "environment": loaded.env.name,
        "environment_file": str(loaded.path),
        "phase": Phase.LOAD.value,
        "run_id": run_id,
        "target": target,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "measurements": [x.to_json() for x in found],
        # What a reader needs to act on a leak: which response showed which foreign tenant.
        "reasons": [f"{obs.leaks} cross-tenant response(s), e.g. {e}" for e in obs.leak_examples[:3]],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        partial.write_text(loaded.redact(json.dumps(payload, indent=2)) + "\n")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def result_run_id(path: Path) -> str | None:
    """The run id a measurements file records (None: none recorded, or not readable as JSON)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    run_id = data.get("run_id") if isinstance(data, dict) else None
    return run_id if isinstance(run_id, str) else None


def decide_load(path: Path, loaded: LoadedEnvironment) -> tuple[Decision, RunInfo]:
    """Judge a written result with the environment's criteria, as `rollout-gate verdict` would."""
    from rollout_gate.gate.producer import judge_measurements

    return judge_measurements([load_gate_file(path)], loaded, Phase.LOAD)
