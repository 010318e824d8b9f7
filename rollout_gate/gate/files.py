"""Gate files: write the decision as gate.json (schema in `schema/gate.schema.json`), read them back.

Everything written goes through the environment's Redactor first; nothing is rewritten afterwards.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from rollout_gate.errors import RolloutGateError
from rollout_gate.gate.measurements import Measurement
from rollout_gate.gate.verdict import CriterionResult, Decision

GATE_SCHEMA_VERSION = 1
KIND_PYTEST = "pytest"
KIND_COMBINED = "combined"
KIND_MEASUREMENTS = "measurements"

Redact = Callable[[str], str]


class GateFileError(RolloutGateError):
    """A gate file that cannot be read or does not follow the schema; one line naming the file."""


@dataclass(frozen=True)
class RunInfo:
    environment: str | None
    environment_file: str | None
    phase: str | None
    run_id: str | None
    target: str | None
    started: float | None
    phases: list[str] = field(default_factory=list)
    git_commit: str | None = None
    selection_given: bool = False


def gate_payload(
    decision: Decision,
    run: RunInfo,
    *,
    kind: str = KIND_PYTEST,
    measurements: list[Measurement] | None = None,
    sources: list[str] | None = None,
    finished: float | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "schema_version": GATE_SCHEMA_VERSION,
        "kind": kind,
        "verdict": decision.verdict.value,
        "exit_code": decision.exit_code,
        "environment": run.environment,
        "environment_file": run.environment_file,
        "phase": run.phase,
        "phases": run.phases,
        "run_id": run.run_id,
        "target": run.target,
        "git_commit": run.git_commit,
        "started_at": iso(run.started),
        "finished_at": iso(time.time() if finished is None else finished),
        "selection_given": run.selection_given,
        "counts": decision.counts,
        "tests_executed": tests_executed(decision.counts),
        "reasons": decision.reasons,
        "warnings": decision.warnings,
        "harness_errors": decision.harness_errors,
        "criteria": [c.to_json() for c in decision.criteria],
        "measurements": [m.to_json() for m in measurements or []],
    }
    if sources is not None:
        payload["sources"] = sources
    return payload


def tests_executed(counts: dict[str, int]) -> int:
    return sum(n for outcome, n in counts.items() if outcome not in ("skipped", "xfailed"))


def write_text(path: Path, text: str, redact: Redact) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(redact(text), encoding="utf-8")
    return path


def write_gate_json(path: Path, payload: dict[str, Any], redact: Redact) -> Path:
    return write_text(path, json.dumps(payload, indent=2) + "\n", redact)


def schema() -> dict[str, Any]:
    text = resources.files("rollout_gate.gate").joinpath("schema/gate.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def schema_errors(data: Any) -> list[str]:
    """Problems with a gate file's structure: full JSON Schema validation where jsonschema is installed."""
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - jsonschema is a dev dependency
        return _structural_errors(data)
    validator = jsonschema.Draft202012Validator(schema())
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '(top level)'}: {error.message}"
        for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    ]


def _structural_errors(data: Any) -> list[str]:
    if not isinstance(data, dict):
        return ["(top level): not an object"]
    errors = []
    if data.get("schema_version") != GATE_SCHEMA_VERSION:
        errors.append(f"schema_version: {data.get('schema_version')!r} is not {GATE_SCHEMA_VERSION}")
    kind = data.get("kind")
    if kind not in (KIND_PYTEST, KIND_COMBINED, KIND_MEASUREMENTS):
        errors.append(f"kind: {kind!r} is not one of pytest, combined, measurements")
    needed = ["measurements"] if kind == KIND_MEASUREMENTS else ["verdict", "criteria", "reasons"]
    errors += [f"(top level): {key!r} is a required property" for key in needed if key not in data]
    for i, c in enumerate(data.get("criteria") or []):
        for key in ("id", "status", "action", "required"):
            if not isinstance(c, dict) or key not in c:
                errors.append(f"criteria.{i}: {key!r} is a required property")
    return errors


@dataclass
class GateFile:
    path: Path
    data: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.data["kind"])

    @property
    def criteria(self) -> list[CriterionResult]:
        return [CriterionResult.from_json(c) for c in self.data.get("criteria", [])]

    @property
    def measurements(self) -> list[Measurement]:
        return [Measurement.from_json(m, source=str(self.path)) for m in self.data.get("measurements", [])]


def load_gate_file(path: Path) -> GateFile:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GateFileError(f"{path}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise GateFileError(f"{path}: not JSON: {exc.msg} at line {exc.lineno}") from None
    errors = schema_errors(data)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise GateFileError(f"{path}: not a gate file: {errors[0]}{more}")
    return GateFile(path, data)


def iso(stamp: float | None) -> str | None:
    return None if stamp is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
