"""One decision from several gate files, over what the environment requires; fail closed.

- Evidence for a phase is a finished gate file of kind `pytest` or `combined` that records the phase.
  A measurements file is evidence for no phase; a running file ("run did not finish") is evidence for
  none and makes the phases it records inconclusive.
- Every phase the verdict is over (`Requirements.phases`) needs evidence: without it the verdict is at
  best INCONCLUSIVE, the phase is named, and each of its criteria is inconclusive.
- Per criterion the worst result wins (fail/error > inconclusive > warn > pass), with the stricter
  action; a criterion of a covered phase that no gate file of that phase reports is inconclusive.
- Measurements (of measurements files and finished gate files) feed the measurement criteria of covered
  phases: their evaluation replaces a file's *inconclusive* result for that criterion, never a fail or error.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rollout_gate.gate import findings
from rollout_gate.gate.evaluate import evaluate
from rollout_gate.gate.files import KIND_MEASUREMENTS, KIND_PYTEST, GateFile, GateFileError, RunInfo
from rollout_gate.gate.measurements import Measurement
from rollout_gate.gate.requirements import AFTER_ROLLBACK, Requirements
from rollout_gate.gate.verdict import CriterionResult, Decision, Status, Verdict, decide
from rollout_gate.phases import Phase

STATUS_RUNNING = "running"
# A run that stopped before deciding (usage or internal error) says so instead of "running".
STATUS_ABORTED = "aborted"
UNFINISHED_REASON = "run did not finish"


def is_running(data: Mapping[str, Any]) -> bool:
    """A gate file written when its session started and never replaced by the run's verdict."""
    if data.get("status") in (STATUS_RUNNING, STATUS_ABORTED):
        return True
    reasons = data.get("reasons") or []
    return data.get("verdict") == Verdict.INCONCLUSIVE.value and any(
        str(r).startswith(UNFINISHED_REASON) for r in reasons
    )


@dataclass(frozen=True)
class _Read:
    file: GateFile
    criteria: list[CriterionResult]
    measurements: list[Measurement]
    phases: frozenset[Phase]

    @property
    def path(self) -> Path:
        return self.file.path


@dataclass
class _Evidence:
    finished: list[_Read]
    running: list[_Read]
    measured: list[_Read]

    @property
    def covered(self) -> set[Phase]:
        return {p for r in self.finished for p in r.phases}

    @property
    def unfinished(self) -> dict[Phase, list[Path]]:
        out: dict[Phase, list[Path]] = {}
        for r in self.running:
            for p in r.phases:
                out.setdefault(p, []).append(r.path)
        return out


@dataclass(frozen=True)
class Combined:
    decision: Decision
    # `phases` is every phase the verdict is over, proven or not.
    run: RunInfo
    measurements: list[Measurement]
    # The phases finished gate files proved: all a combined gate file may claim, or feeding it back
    # to `rollout-gate verdict` would turn a missing phase into a covered one.
    proven: list[str]


def combine(files: Sequence[GateFile], req: Requirements) -> Combined:
    """The combined decision, what it was over, and the measurements that fed it."""
    ev = _sort(files)
    over = req.phases(ev.covered | set(ev.unfinished))
    covered = ev.covered & set(over)
    pooled = [m for r in [*ev.measured, *ev.finished] for m in r.measurements]
    reported: dict[str, list[tuple[_Read, CriterionResult]]] = {}
    for r in ev.finished:
        for c in r.criteria:
            reported.setdefault(c.id, []).append((r, c))
    expected = {c.id: c for c in evaluate(req.criteria, req.scope(over))}
    measured = _measured(req, covered, pooled)
    results = [
        _judge(base, set(over), covered, ev.unfinished, reported.get(cid, []), measured.get(cid))
        for cid, base in expected.items()
    ]
    for cid, entries in reported.items():
        # Criteria the environment does not define (implicit ones, a plugin's): their files' worst result.
        relevant = [c for _, c in entries if not c.phases or {Phase(p) for p in c.phases} & set(over)]
        if cid not in expected and relevant:
            results.append(_worst(relevant))
    harness: list[str] = []
    counts: dict[str, int] = {}
    for r in ev.finished:
        harness += [h for h in r.file.data.get("harness_errors", []) if h not in harness]
        for outcome, n in r.file.data.get("counts", {}).items():
            counts[outcome] = counts.get(outcome, 0) + int(n)
    decision = decide(results, harness_errors=harness, counts=counts)
    decision = _withhold(decision, _missing_evidence(ev, over, results))
    decision.warnings += _notes(ev, req, over)
    run = RunInfo(
        environment=req.environment,
        environment_file=req.environment_file,
        phase=req.asked.value if req.asked else None,
        phases=[p.value for p in over],
        run_id=_first(ev.finished, "run_id"),
        target=_first(ev.finished, "target"),
        started=time.time(),
        git_commit=_first(ev.finished, "git_commit"),
    )
    proven = [p.value for p in over if p in covered and p not in ev.unfinished]
    return Combined(decision, run, pooled, proven)


def _sort(files: Sequence[GateFile]) -> _Evidence:
    ev = _Evidence(finished=[], running=[], measured=[])
    for f in files:
        r = _read(f)
        if f.kind == KIND_MEASUREMENTS:
            ev.measured.append(r)
        elif is_running(f.data):
            # A run that did not say which phases it was running stands for all of them.
            ev.running.append(replace(r, phases=r.phases or frozenset(Phase)))
        else:
            ev.finished.append(r)
    return ev


def _read(f: GateFile) -> _Read:
    """Parse once; without jsonschema installed the structural check is weaker, so a bad value still ends here."""
    try:
        phases = [Phase(p) for p in f.data.get("phases") or []]
        if not phases and f.data.get("phase"):
            phases = [Phase(f.data["phase"])]
        criteria = [] if f.kind == KIND_MEASUREMENTS else f.criteria
        return _Read(f, criteria, f.measurements, frozenset(phases))
    except (ValueError, KeyError, TypeError) as exc:
        raise GateFileError(f"{f.path}: not a gate file: {exc}") from None


def _measured(req: Requirements, covered: set[Phase], pooled: Sequence[Measurement]) -> dict[str, CriterionResult]:
    """Measurement criteria of covered phases, evaluated over every measurement given."""
    names = {m.name for m in pooled}
    if not covered or not names:
        return {}
    values = {p.value for p in covered}
    return {
        c.id: c
        for c in evaluate(req.criteria, req.scope(covered), measurements=pooled)
        if c.measurement in names and values & set(c.phases)
    }


def _judge(
    base: CriterionResult,
    over: set[Phase],
    covered: set[Phase],
    unfinished: Mapping[Phase, list[Path]],
    entries: Sequence[tuple[_Read, CriterionResult]],
    measured: CriterionResult | None,
) -> CriterionResult:
    """One criterion the environment requires: its files' results, measured, and inconclusive where unproven."""
    phases = {Phase(p) for p in base.phases} & over
    parts = []
    missing = phases - covered
    if missing:
        parts.append(replace(base, reason=f"no gate file for phase {_names(missing)}"))
    stopped = sorted({str(path) for p in phases & set(unfinished) for path in unfinished[p]})
    if stopped:
        parts.append(replace(base, reason=f"{', '.join(stopped)}: {UNFINISHED_REASON}"))
    parts += [c for _, c in entries if measured is None or c.status != Status.INCONCLUSIVE]
    if measured is not None:
        parts.append(measured)
    else:
        silent = [p for p in phases & covered if not any(p in r.phases for r, _ in entries)]
        if silent:
            parts.append(replace(base, reason=f"no gate file of phase {_names(silent)} reports it"))
    merged = _worst(parts or [base])
    return replace(merged, required=merged.required or base.required)


def _worst(parts: Sequence[CriterionResult]) -> CriterionResult:
    """The worst status wins (the first of equals), with the stricter action; tests and phases are joined."""
    worst = max(parts, key=lambda c: c.status.severity)
    found = findings.unique(f for c in parts for f in c.findings)
    kept = found[: findings.MAX_PER_CRITERION]
    return replace(
        worst,
        action=max((c.action for c in parts), key=lambda a: a.severity),
        required=any(c.required for c in parts),
        tests=sorted({t for c in parts for t in c.tests}),
        findings=kept,
        findings_omitted=max((c.findings_omitted for c in parts), default=0) + len(found) - len(kept),
        phases=[p.value for p in _ordered(Phase(p) for c in parts for p in c.phases)],
    )


def _missing_evidence(ev: _Evidence, over: Sequence[Phase], results: Sequence[CriterionResult]) -> list[str]:
    """Why the decision cannot be GO whatever its criteria say."""
    reasons = [f"phase {p}: no gate file" for p in over if p not in ev.covered]
    if not over:
        reasons.append("no phase to decide over: the environment enables only post-rollback and no file covers it")
    for r in ev.running:
        if its := [p for p in over if p in r.phases]:
            reasons.append(f"{r.path}: {UNFINISHED_REASON}: not evidence for {_names(its)}")
    for r in ev.finished:
        if r.file.kind == KIND_PYTEST and not r.file.data.get("tests_executed", 0):
            reasons.append(f"{r.path}: no test ran in that pytest run")
    if not any(c.status.evaluated for c in results):
        reasons.append("no criterion was evaluated in any file")
    return reasons


def _notes(ev: _Evidence, req: Requirements, over: Sequence[Phase]) -> list[str]:
    notes = [f"{r.path}: records no phase: evidence for none" for r in ev.finished if not r.phases]
    if AFTER_ROLLBACK in req.enabled and AFTER_ROLLBACK not in over and req.asked is None:
        notes.append(
            f"phase {AFTER_ROLLBACK}: not part of this verdict (it runs after a rollback; "
            f"give its gate file or --phase {AFTER_ROLLBACK} to judge it)"
        )
    return notes


def _withhold(decision: Decision, reasons: Sequence[str]) -> Decision:
    """At best INCONCLUSIVE, with the reasons listed; a NO_GO or ROLLBACK stays what it is."""
    if not reasons:
        return decision
    verdict = decision.verdict
    if verdict.severity < Verdict.INCONCLUSIVE.severity:
        verdict = Verdict.INCONCLUSIVE
    return replace(decision, verdict=verdict, reasons=[*decision.reasons, *reasons])


def _ordered(phases: Iterable[Phase]) -> list[Phase]:
    return sorted(set(phases), key=lambda p: p.order)


def _names(phases: Iterable[Phase]) -> str:
    return ", ".join(p.value for p in _ordered(phases))


def _first(reads: Sequence[_Read], key: str) -> Any:
    return next((r.file.data[key] for r in reads if r.file.data.get(key)), None)
