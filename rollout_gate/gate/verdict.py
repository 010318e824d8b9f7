"""The verdict: statuses, exit codes, and the rule that turns criterion results into GO / NO-GO / ROLLBACK.

- ROLLBACK if a criterion whose action is `rollback` failed;
- else NO_GO if a blocking (no_go or rollback) criterion failed or errored, or the harness itself failed;
- else INCONCLUSIVE if a required blocking criterion could not be evaluated, or nothing was verified
  (no test ran, or no rollout criterion was evaluated: a GO needs evidence);
- else GO, with warnings listed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rollout_gate.criteria.models import Action
from rollout_gate.gate.findings import Finding


class Verdict(StrEnum):
    GO = "GO"
    NO_GO = "NO_GO"
    ROLLBACK = "ROLLBACK"
    INCONCLUSIVE = "INCONCLUSIVE"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self]

    @property
    def severity(self) -> int:
        return (Verdict.GO, Verdict.INCONCLUSIVE, Verdict.NO_GO, Verdict.ROLLBACK).index(self)


# pytest keeps 2 (interrupted), 3 (internal error) and 4 (usage error); 5 (no tests) becomes INCONCLUSIVE.
EXIT_CODES = {Verdict.GO: 0, Verdict.NO_GO: 1, Verdict.ROLLBACK: 10, Verdict.INCONCLUSIVE: 11}


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    ERROR = "error"

    @property
    def severity(self) -> int:
        return (Status.PASS, Status.WARN, Status.INCONCLUSIVE, Status.ERROR, Status.FAIL).index(self)

    @property
    def evaluated(self) -> bool:
        """The criterion was checked (whatever the answer); inconclusive and error were not."""
        return self in (Status.PASS, Status.WARN, Status.FAIL)


@dataclass
class CriterionResult:
    id: str
    title: str
    status: Status
    action: Action
    required: bool = True
    reason: str = ""
    phases: list[str] = field(default_factory=list)
    runbook: str = ""
    observed: float | str | None = None
    threshold: str = ""
    samples: int | None = None
    min_samples: int | None = None
    measurement: str | None = None
    tests: list[str] = field(default_factory=list)
    implicit: bool = False
    # Feeders in this run's phases that did not run to a result: "nodeid (not selected)", "nodeid (skipped: why)".
    missing: list[str] = field(default_factory=list)
    # What its feeders found and where (tables, policies, functions, roles, row keys): detail, never a status.
    findings: list[Finding] = field(default_factory=list)
    # Findings beyond the ones kept (rollout_gate.gate.findings.MAX_PER_CRITERION).
    findings_omitted: int = 0

    @property
    def outcome(self) -> str:
        """What this criterion does to the verdict: rollback | no_go | inconclusive | warn | pass."""
        blocking = self.action.blocking
        if self.status == Status.FAIL and blocking:
            return "rollback" if self.action == Action.ROLLBACK else "no_go"
        if self.status == Status.ERROR and blocking:
            return "no_go"
        if self.status == Status.INCONCLUSIVE and blocking and self.required:
            return "inconclusive"
        if self.status == Status.PASS or (self.status == Status.INCONCLUSIVE and not self.required):
            return "pass"
        return "warn"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status.value,
            "action": self.action.value,
            "required": self.required,
            "outcome": self.outcome,
            "observed": self.observed,
            "threshold": self.threshold,
            "samples": self.samples,
            "min_samples": self.min_samples,
            "measurement": self.measurement,
            "phases": self.phases,
            "runbook": self.runbook,
            "tests": self.tests,
            "reason": self.reason,
            "implicit": self.implicit,
            "missing": self.missing,
            "findings": [f.to_json() for f in self.findings],
            "findings_omitted": self.findings_omitted,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CriterionResult:
        return cls(
            id=data["id"],
            title=data.get("title", data["id"]),
            status=Status(data["status"]),
            action=Action(data["action"]),
            required=bool(data.get("required", True)),
            reason=data.get("reason", ""),
            phases=list(data.get("phases", [])),
            runbook=data.get("runbook", ""),
            observed=data.get("observed"),
            threshold=data.get("threshold", ""),
            samples=data.get("samples"),
            min_samples=data.get("min_samples"),
            measurement=data.get("measurement"),
            tests=list(data.get("tests", [])),
            implicit=bool(data.get("implicit", False)),
            missing=list(data.get("missing", [])),
            findings=[Finding.from_json(f) for f in data.get("findings", [])],
            findings_omitted=int(data.get("findings_omitted", 0)),
        )


NOTHING_EVALUATED = "no rollout criterion was evaluated: nothing was verified against the criteria"


def nothing_evaluated(criteria: Iterable[CriterionResult]) -> bool:
    """True when no criterion of a criteria file was checked: tests of implicit criteria alone are no evidence."""
    return not any(c.status.evaluated and not c.implicit for c in criteria)


@dataclass
class Decision:
    verdict: Verdict
    criteria: list[CriterionResult]
    reasons: list[str]
    warnings: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    harness_errors: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code


def decide(
    criteria: Iterable[CriterionResult],
    *,
    harness_errors: Iterable[str] = (),
    counts: dict[str, int] | None = None,
    nothing_verified: str | None = None,
) -> Decision:
    """Apply the verdict rule; `nothing_verified` is the reason a run that verified nothing is never GO."""
    results = list(criteria)
    harness = list(harness_errors)
    by_outcome: dict[str, list[CriterionResult]] = {}
    for c in results:
        by_outcome.setdefault(c.outcome, []).append(c)
    reasons = [f"harness: {message}" for message in harness]
    for outcome in ("rollback", "no_go", "inconclusive"):
        reasons += [f"{c.id}: {c.status.value} ({c.action.value}): {c.reason}" for c in by_outcome.get(outcome, [])]
    if nothing_verified:
        reasons.append(nothing_verified)
    warnings = [f"{c.id}: {c.status.value}: {c.reason}" for c in by_outcome.get("warn", [])]
    if by_outcome.get("rollback"):
        verdict = Verdict.ROLLBACK
    elif by_outcome.get("no_go") or harness:
        verdict = Verdict.NO_GO
    elif by_outcome.get("inconclusive") or nothing_verified:
        verdict = Verdict.INCONCLUSIVE
    else:
        verdict = Verdict.GO
    return Decision(
        verdict=verdict,
        criteria=results,
        reasons=reasons,
        warnings=warnings,
        counts=dict(counts or {}),
        harness_errors=harness,
    )
