"""Decide the verdict from per-test outcomes, failing closed.

Tests are grouped into criteria (their `criterion` marker, else their suite
marker). A criterion passes only if at least one of its tests passed and none
failed; one whose tests were all skipped is inconclusive. The run is GO only
if at least one test ran and every criterion passed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from rollout_gate.gate.outcomes import FAILING, TestResult


class Verdict(StrEnum):
    GO = "GO"
    NO_GO = "NO_GO"


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


@dataclass
class CriterionResult:
    id: str
    status: Status
    tests: list[str] = field(default_factory=list)
    reason: str = ""


@dataclass
class Decision:
    verdict: Verdict
    criteria: list[CriterionResult]
    reasons: list[str]
    counts: dict[str, int]


def decide(results: Iterable[TestResult], *, harness_errors: Iterable[str] = ()) -> Decision:
    results = list(results)
    groups: dict[str, list[TestResult]] = {}
    for result in results:
        for key in result.criteria or result.suites or ["unclassified"]:
            groups.setdefault(key, []).append(result)
    criteria = [_criterion(key, tests) for key, tests in sorted(groups.items())]
    counts: dict[str, int] = {}
    for result in results:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
    reasons = list(harness_errors)
    if not any(r.ran for r in results):
        reasons.append("no test ran: nothing was verified")
    reasons += [f"{c.id}: {c.status}: {c.reason}" for c in criteria if c.status != Status.PASS]
    verdict = Verdict.NO_GO if reasons else Verdict.GO
    return Decision(verdict=verdict, criteria=criteria, reasons=reasons, counts=counts)


def _criterion(key: str, tests: list[TestResult]) -> CriterionResult:
    ids = [t.nodeid for t in tests]
    failed = [t for t in tests if t.outcome in FAILING or t.outcome == "xpassed"]
    if failed:
        first = failed[0]
        more = f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""
        return CriterionResult(key, Status.FAIL, ids, f"{first.nodeid}: {first.message}{more}")
    if not any(t.outcome == "passed" for t in tests):
        return CriterionResult(key, Status.INCONCLUSIVE, ids, "no test of this criterion passed (all skipped)")
    return CriterionResult(key, Status.PASS, ids)
