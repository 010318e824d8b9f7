"""Gate files: write the decision as gate.json (schema in `schema/gate.schema.json`), read them back.

Everything written goes through the environment's Redactor first (nothing is rewritten afterwards),
and is written atomically (a temporary file beside it, then `os.replace`), so a reader never sees half
a file.

A run publishes under its own id, `REPORT_DIR/runs/<run_id>/gate.json` (+ gate.md), and copies
them to `REPORT_DIR/gate.json`: first a "running" file (INCONCLUSIVE, "run did not finish") when it
starts, which a run that is killed leaves behind, then its final verdict. The latest run to start
owns the top-level copy: a run that finishes after another one started leaves that one's file in
place (its own stays in runs/<run_id>/), so a run never overwrites the file of a newer run.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from rollout_gate.errors import RolloutGateError
from rollout_gate.gate.measurements import Measurement
from rollout_gate.gate.verdict import CriterionResult, Decision, Verdict

# 2: `status` (running | aborted | finished) and each criterion's `missing` feeders; 3: each criterion's
# `findings` (what and where). Version 1 and 2 files still read.
GATE_SCHEMA_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
GATE_JSON = "gate.json"
GATE_MD = "gate.md"
RUNS_DIR = "runs"
LOCK_FILE = ".gate.lock"
# A run that started and has not decided yet (or was killed before it could).
STATUS_RUNNING = "running"
# A run that stopped before deciding: a usage error, an internal error.
STATUS_ABORTED = "aborted"
STATUS_FINISHED = "finished"
DID_NOT_FINISH = "run did not finish"
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
    status: str = STATUS_FINISHED,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "schema_version": GATE_SCHEMA_VERSION,
        "kind": kind,
        "status": status,
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
        "finished_at": None if status == STATUS_RUNNING else iso(time.time() if finished is None else finished),
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


def unfinished_decision(reason: str) -> Decision:
    """The decision of a run that has not decided: INCONCLUSIVE, never GO, whatever earlier runs said."""
    return Decision(verdict=Verdict.INCONCLUSIVE, criteria=[], reasons=[reason], warnings=[])


def write_text(path: Path, text: str, redact: Redact) -> Path:
    """Write `redact(text)` atomically: a reader sees the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(redact(text))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def write_gate_json(path: Path, payload: dict[str, Any], redact: Redact) -> Path:
    return write_text(path, json.dumps(payload, indent=2) + "\n", redact)


def run_dir(report_dir: Path, run_id: str) -> Path:
    return report_dir / RUNS_DIR / run_id


def publish(report_dir: Path, run_id: str, files: Mapping[str, str], redact: Redact, *, claim: bool = False) -> Path:
    """Write a run's files to runs/<run_id>/, then copy them to `report_dir` if this run owns the copies there.

    `claim` (a run starting) takes the copies over; otherwise they are replaced only while they are still
    this run's (or missing). Returns the run's own gate.json.
    """
    own = run_dir(report_dir, run_id)
    for name, text in files.items():
        write_text(own / name, text, redact)
    with _locked(report_dir):
        if claim or owner(report_dir / GATE_JSON) in (None, run_id):
            for name, text in files.items():
                write_text(report_dir / name, text, redact)
    return own / GATE_JSON


def owner(path: Path) -> str | None:
    """The run id a gate file names; None when there is no (readable) file; "" when it names none."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return str(data.get("run_id") or "") if isinstance(data, dict) else None


@contextlib.contextmanager
def _locked(report_dir: Path) -> Iterator[None]:
    """Serialise the check-and-replace of the top-level copies between runs sharing `report_dir`."""
    report_dir.mkdir(parents=True, exist_ok=True)
    with open(report_dir / LOCK_FILE, "a", encoding="utf-8") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


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
    if data.get("schema_version") not in READABLE_VERSIONS:
        errors.append(f"schema_version: {data.get('schema_version')!r} is not one of {READABLE_VERSIONS}")
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
        data = strict_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GateFileError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise GateFileError(f"{path}: not a UTF-8 text file (is it a gate.json?)") from None
    except json.JSONDecodeError as exc:
        raise GateFileError(f"{path}: not JSON: {exc.msg} at line {exc.lineno}") from None
    except _NotStrictJSON as exc:
        raise GateFileError(f"{path}: not JSON: {exc}") from None
    except RecursionError:
        raise GateFileError(f"{path}: not JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer longer than Python converts
        raise GateFileError(f"{path}: not JSON: {exc}") from None
    errors = schema_errors(data)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise GateFileError(f"{path}: not a gate file: {errors[0]}{more}")
    return GateFile(path, data)


class _NotStrictJSON(ValueError):
    """JSON that Python's parser accepts but the format does not: NaN, Infinity, 1e999, a key given twice."""


def strict_json(text: str) -> Any:
    """Parse JSON as the standard defines it, so no gate file can smuggle in a non-finite number or a second value."""

    def constant(name: str) -> Any:
        raise _NotStrictJSON(f"{name} is not a number JSON allows")

    def number(literal: str) -> float:
        value = float(literal)
        if not math.isfinite(value):
            raise _NotStrictJSON(f"{literal} is not a finite number")
        return value

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise _NotStrictJSON(f"duplicate key {key!r}")
            out[key] = value
        return out

    return json.loads(text, parse_constant=constant, parse_float=number, object_pairs_hook=unique)


def iso(stamp: float | None) -> str | None:
    return None if stamp is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
