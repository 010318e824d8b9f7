"""A producer's own verdict (the Locust run's exit code): its measurements judged by the environment's criteria.

Not a rollout verdict: `rollout-gate verdict` never takes a measurements file alone as evidence
(gate/merge.py); the producer reports what its numbers say, the gate decides with the phase's gate file.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from rollout_gate.config import LoadedEnvironment
from rollout_gate.criteria.resolve import base_specs, resolve
from rollout_gate.gate.evaluate import RunScope, evaluate
from rollout_gate.gate.files import GateFile, RunInfo
from rollout_gate.gate.verdict import Decision, decide
from rollout_gate.phases import Phase


def judge_measurements(files: Sequence[GateFile], loaded: LoadedEnvironment, phase: Phase) -> tuple[Decision, RunInfo]:
    env = loaded.env
    criteria = resolve(base_specs(env.criteria, loaded.path), env.criteria, env.thresholds, where=str(loaded.path))
    measurements = [m for f in files for m in f.measurements]
    names = {m.name for m in measurements}
    scope = RunScope(environment=env.name, phases=(phase,))
    results = [
        c
        for c in evaluate(criteria, scope, measurements=measurements)
        if c.measurement in names and phase.value in c.phases
    ]
    evaluated = any(c.status.evaluated for c in results)
    decision = decide(results, nothing_verified=None if evaluated else "no criterion was evaluated in any file")
    run = RunInfo(
        environment=env.name,
        environment_file=str(loaded.path),
        phase=phase.value,
        phases=[phase.value],
        run_id=next((f.data["run_id"] for f in files if f.data.get("run_id")), None),
        target=None,
        started=time.time(),
    )
    return decision, run
