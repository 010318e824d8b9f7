"""Evaluate every criterion of a run from its tests, its collection ledger and its measurements.

Fail closed: a criterion is `pass` only on evidence. No feeding test that ran, a
measurement missing or with too few samples, any feeder of this run's phases skipped,
xfailed or left out by the user's selection: `inconclusive`, with the missing feeders
named. Whether that blocks depends on `required` (see `RunScope`): a criterion whose
feeders were all left out by the user's selection is not required.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from rollout_gate.criteria.models import Action, FlakyPolicy
from rollout_gate.criteria.resolve import CriteriaSet, Criterion, implicit_criterion
from rollout_gate.gate import findings
from rollout_gate.gate.collection import BY_USER, CollectedTest, Ledger
from rollout_gate.gate.measurements import Measurement
from rollout_gate.gate.outcomes import TestResult
from rollout_gate.gate.verdict import CriterionResult, Status
from rollout_gate.phases import Phase


@dataclass(frozen=True)
class RunScope:
    """What this run was asked to verify.

    A criterion is required when it belongs to one of `phases`, the environment has not
    disabled all the suites feeding it, and either the user gave no selection (-m, -k,
    test paths…) or at least one of its tests was selected (or it got a measurement).
    """

    environment: str
    phases: tuple[Phase, ...]
    selection_given: bool = False
    disabled_suites: frozenset[str] = frozenset()


@dataclass
class _Test:
    nodeid: str
    phase: str | None
    criteria: list[str]
    suites: list[str]
    collected: CollectedTest | None = None
    result: TestResult | None = None


@dataclass
class _Feed:
    criterion: Criterion
    tests: list[_Test] = field(default_factory=list)


def evaluate(
    criteria: CriteriaSet,
    scope: RunScope,
    *,
    ledger: Ledger | None = None,
    results: Mapping[str, TestResult] | None = None,
    measurements: Sequence[Measurement] = (),
) -> list[CriterionResult]:
    tests = _tests(ledger or Ledger(), results or {})
    feeds = {c.id: _Feed(c) for c in criteria}
    implicit: dict[str, list[_Test]] = {}
    for test in tests:
        fed, implicit_ids = criteria.feeding(test.criteria, test.suites)
        for c in fed:
            feeds[c.id].tests.append(test)
        for name in implicit_ids:
            implicit.setdefault(name, []).append(test)
    for name, its_tests in implicit.items():
        phases = [Phase(t.phase) for t in its_tests if t.phase]
        key = name if name not in feeds else f"{name}.tests"
        feeds[key] = _Feed(implicit_criterion(key, phases), its_tests)
    out = []
    for feed in feeds.values():
        result = _evaluate_one(feed, scope, measurements)
        if result is not None:
            out.append(result)
    return out


def _tests(ledger: Ledger, results: Mapping[str, TestResult]) -> list[_Test]:
    by_id: dict[str, _Test] = {}
    for c in ledger.tests.values():
        by_id[c.nodeid] = _Test(c.nodeid, c.phase, list(c.criteria), list(c.suites), collected=c)
    for r in results.values():
        test = by_id.get(r.nodeid)
        if test is None:
            test = by_id[r.nodeid] = _Test(r.nodeid, r.phase, list(r.criteria), list(r.suites))
        test.result = r
    return list(by_id.values())


def _evaluate_one(feed: _Feed, scope: RunScope, measurements: Sequence[Measurement]) -> CriterionResult | None:
    c = feed.criterion
    values = [m for m in measurements if c.measurement and m.name == c.measurement]
    reported = [t.result for t in feed.tests if t.result is not None]
    in_phase = bool(set(c.phases) & set(scope.phases))
    if not in_phase and not reported and not values:
        return None  # another phase's criterion: not part of this run
    selected = [t for t in feed.tests if (t.collected is not None and t.collected.selected) or t.result is not None]
    suites_off = bool(c.suites) and c.suites <= scope.disabled_suites and not selected
    not_applicable = _not_applicable(feed.tests) if not selected and not reported and not values else None
    required = (
        c.required
        and in_phase
        and not suites_off
        and not_applicable is None
        and (not scope.selection_given or bool(selected) or bool(values))
    )
    ran_phases = {Phase(r.phase) for r in reported if r.phase and r.ran}
    action_phases = ran_phases or (set(c.phases) & set(scope.phases)) or set(c.phases)
    action = c.action_for(scope.environment, action_phases)
    result = CriterionResult(
        id=c.id,
        title=c.title,
        status=Status.INCONCLUSIVE,
        action=action,
        required=required,
        phases=[p.value for p in c.phases],
        runbook=c.runbook,
        threshold=c.threshold,
        tests=sorted(t.nodeid for t in feed.tests),
        implicit=c.implicit,
        measurement=c.measurement,
        min_samples=c.min_samples if c.measurement else None,
    )
    if c.measurement:
        _measured(result, c, values, reported)
    else:
        _tested(result, c, feed.tests, reported)
    _found(result, sorted(reported, key=lambda r: r.nodeid))
    refused = [t for t in feed.tests if t.result is None and _env_says(t)]
    if result.status == Status.PASS and refused:
        # Judged on what may run here; what the environment keeps out is said, not hidden.
        why = _env_says(refused[0])
        result.observed = f"{result.observed}; {len(refused)} more {NOT_APPLICABLE} ({why})"
    if not_applicable is not None:
        result.reason = f"{NOT_APPLICABLE}: {not_applicable}"
    elif not required and result.status == Status.INCONCLUSIVE:
        why = "optional in this environment" if not c.required else "not required in this run"
        result.reason = f"{why}: {result.reason}"
    if result.status == Status.FAIL and action == Action.WARN:
        result.status = Status.WARN
    return result


def _tested(result: CriterionResult, c: Criterion, tests: Sequence[_Test], reported: Sequence[TestResult]) -> None:
    outcomes = ("passed", "failed", "error", "xpassed", "skipped", "xfailed")
    count = {o: [r for r in reported if r.outcome == o] for o in outcomes}
    failed = count["failed"] + count["xpassed"]
    ran = [r for r in reported if r.ran]
    result.samples = len(ran)
    result.observed = _observed(reported) if reported else None
    flaky = [r for r in count["passed"] if r.flaky]
    if failed:
        result.status, result.reason = Status.FAIL, _first(failed)
    elif count["error"]:
        result.status, result.reason = Status.ERROR, _first(count["error"])
    elif flaky and c.flaky == FlakyPolicy.FAIL:
        result.status, result.reason = Status.FAIL, _flaky(flaky)
    elif not count["passed"]:
        result.status, result.reason = Status.INCONCLUSIVE, _why_nothing_ran(tests, reported)
        result.missing = _missing(tests)
    elif missing := _missing(tests):
        # One rule for partial evidence: a pass needs every feeder of this run's phases to have run and passed.
        result.status, result.missing = Status.INCONCLUSIVE, missing
        shown = "; ".join(missing[:_SHOWN])
        more = f" (+{len(missing) - _SHOWN} more)" if len(missing) > _SHOWN else ""
        result.reason = (
            f"not every test feeding it ran: {len(count['passed'])} passed, {len(missing)} missing: {shown}{more}"
        )
    elif flaky:
        result.status, result.reason = Status.WARN, _flaky(flaky)
    else:
        result.status = Status.PASS


NOT_APPLICABLE = "not applicable here"


def _found(result: CriterionResult, reported: Sequence[TestResult]) -> None:
    """What the feeders found and where; it never changes the status (set before, from outcomes alone)."""
    found = findings.unique(f for r in reported for f in r.findings)
    result.findings = found[: findings.MAX_PER_CRITERION]
    result.findings_omitted = len(found) - len(result.findings)


def _env_says(test: _Test) -> str:
    """What the environment file itself says keeps this test out ("" for phase selection or none)."""
    why = test.collected.excluded_why if test.collected is not None else ""
    return "" if why.startswith("phase ") else why


def _not_applicable(tests: Sequence[_Test]) -> str | None:
    """Why the environment file keeps every feeder out (writes forbidden, nothing declared...), or None.
    Never by guess: only tests the environment itself excluded count, and there must be some."""
    reasons = [t.collected.excluded_why for t in tests if t.collected is not None and t.collected.excluded_why]
    if not tests or len(reasons) != len(tests):
        return None
    # Prefer what the environment says over "that phase is not in this run".
    own = [r for r in reasons if not r.startswith("phase ")]
    return (own or reasons)[0]


# Missing feeders named in a reason; gate.json and gate.md list them all.
_SHOWN = 5


def _missing(tests: Sequence[_Test]) -> list[str]:
    """Feeders that did not run to a result, except those the environment keeps out of this run."""
    out = []
    for t in tests:
        r = t.result
        if r is not None:
            if not r.ran:
                out.append(f"{t.nodeid} ({r.outcome}: {r.message or 'no reason'})")
        elif t.collected is not None and t.collected.selected:
            out.append(f"{t.nodeid} (selected, did not run)")
        elif t.collected is not None and t.collected.deselected_by == BY_USER:
            out.append(f"{t.nodeid} (not selected)")
    return sorted(out)


def _flaky(flaky: Sequence[TestResult]) -> str:
    more = f" (+{len(flaky) - 1} more)" if len(flaky) > 1 else ""
    return f"flaky: {flaky[0].nodeid} passed only after {flaky[0].reruns} rerun(s){more}"


def _measured(
    result: CriterionResult, c: Criterion, values: Sequence[Measurement], producers: Sequence[TestResult]
) -> None:
    valid = [m for m in values if m.value is not None]
    enough = [m for m in valid if m.samples >= c.min_samples]
    if enough:
        worst = enough[0]
        for m in enough[1:]:
            assert m.value is not None and worst.value is not None
            if c.worse(m.value, worst.value):
                worst = m
        assert worst.value is not None
        result.observed, result.samples = worst.value, worst.samples
        within = c.within(worst.value)
        result.status = Status.PASS if within else Status.FAIL
        where = f" (worst of {len(enough)}, from {worst.source})" if len(enough) > 1 else f" (from {worst.source})"
        verb = "within" if within else "outside"
        result.reason = f"{c.measurement} = {_number(worst.value)}{_unit(c)} {verb} {c.threshold}{where}"
        return
    if valid:
        best = max(valid, key=lambda m: m.samples)
        result.observed, result.samples = best.value, best.samples
        result.reason = f"too few samples: {c.measurement} over {best.samples} < {c.min_samples} needed"
        return
    errors = [m for m in values if m.error]
    broken = [r for r in producers if r.outcome in ("error", "failed")]
    if errors:
        result.status, result.reason = Status.ERROR, f"{c.measurement} not measured: {errors[0].error}"
    elif broken:
        result.status, result.reason = Status.ERROR, f"no {c.measurement}; its producer failed: {_first(broken)}"
    elif producers and not any(r.ran for r in producers):
        result.reason = f"no {c.measurement}: its producer tests were skipped"
    else:
        result.reason = f"no measurement of {c.measurement}"


def _why_nothing_ran(tests: Sequence[_Test], reported: Sequence[TestResult]) -> str:
    if reported:
        first = reported[0]
        return f"all {len(reported)} test(s) skipped or xfailed ({first.nodeid}: {first.message or 'no reason'})"
    if not tests:
        return "no test feeds it (never collected)"
    if any(t.collected and t.collected.selected for t in tests):
        return "its selected test(s) did not run"
    by_user = [t for t in tests if t.collected and t.collected.deselected_by == BY_USER]
    if by_user:
        return f"all {len(tests)} test(s) deselected (-m/-k/test paths)"
    return f"all {len(tests)} test(s) outside this run's phases or suites"


def _observed(reported: Iterable[TestResult]) -> str:
    counts: dict[str, int] = {}
    for r in reported:
        label = "passed (flaky)" if r.flaky else r.outcome
        counts[label] = counts.get(label, 0) + 1
    return ", ".join(f"{n} {label}" for label, n in sorted(counts.items()))


def _first(results: Sequence[TestResult]) -> str:
    first = results[0]
    more = f" (+{len(results) - 1} more)" if len(results) > 1 else ""
    return f"{first.nodeid}: {first.outcome}: {first.message or 'no message'}{more}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


def _unit(c: Criterion) -> str:
    return f" {c.unit}" if c.unit else ""
