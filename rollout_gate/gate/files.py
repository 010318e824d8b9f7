"""Write the gate decision: gate.json for machines, a verdict block for people."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rollout_gate.config import Redactor
from rollout_gate.gate.verdict import Decision

GATE_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class RunInfo:
    environment: str
    environment_file: str
    phase: str | None
    run_id: str
    target: str
    started: float


def gate_payload(decision: Decision, run: RunInfo) -> dict[str, Any]:
    return {
        "schema_version": GATE_SCHEMA_VERSION,
        "verdict": decision.verdict.value,
        "environment": run.environment,
        "environment_file": run.environment_file,
        "phase": run.phase,
        "run_id": run.run_id,
        "target": run.target,
        "started_at": _iso(run.started),
        "finished_at": _iso(time.time()),
        "counts": decision.counts,
        "reasons": decision.reasons,
        "criteria": [
            {"id": c.id, "status": c.status.value, "tests": c.tests, "reason": c.reason} for c in decision.criteria
        ],
    }


def write_gate_json(path: Path, payload: dict[str, Any], redact: Redactor) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(redact(json.dumps(payload, indent=2)) + "\n")


def verdict_lines(decision: Decision) -> list[str]:
    lines = [f"verdict: {decision.verdict.value}"]
    for c in decision.criteria:
        lines.append(f"  {c.status.value:<12} {c.id}" + (f"  {c.reason}" if c.reason else ""))
    lines += [
        f"  reason: {r}" for r in decision.reasons if not any(r.startswith(f"{c.id}:") for c in decision.criteria)
    ]
    return lines


def _iso(stamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
