"""Window evaluation of one watch criterion over the points of its signal. Pure: no I/O, no clock.

Fail closed: a point without a value (no series, stale, query error, source unreachable) makes the
criterion inconclusive, never a pass, unless a sustained breach was already seen (a failure stays one).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from rollout_gate.watch.config import WatchCriterion
from rollout_gate.watch.threshold import parse_threshold

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Point:
    """One evaluation of a signal: its value at `at` (seconds), or why there is none."""

    at: float
    value: float | None
    error: str = ""


class State(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    # Running only: not enough points yet, or breaching but not yet for `for`.
    PENDING = "pending"
    BREACHING = "breaching"


@dataclass(frozen=True)
class Baseline:
    """The same signal over a window before the deploy (or why it could not be read)."""

    value: float | None
    error: str = ""


@dataclass(frozen=True)
class WindowResult:
    state: State
    reason: str
    # The newest valid value, and the value that fired (a failure).
    current: float | None = None
    fired_value: float | None = None
    fired_at: float | None = None
    samples: int = 0
    missing: int = 0
    limit: str = ""
    # First point of the breach that fired (or is running now).
    breach_since: float | None = None


def evaluate(
    criterion: WatchCriterion,
    points: Sequence[Point],
    *,
    final: bool,
    baseline: Baseline | None = None,
    unit: str = "",
) -> WindowResult:
    """The criterion's state after these points; `final` at the end of the window (pending becomes inconclusive)."""
    op, limit = parse_threshold(criterion.threshold)
    unit = f" {unit}" if unit else ""
    checks: list[tuple[str, float]] = [(op, limit)]
    limit_text = f"{op} {_num(limit)}{unit}"
    signal = criterion.signal
    if criterion.compare == "baseline":
        if baseline is None or baseline.value is None:
            why = baseline.error if baseline is not None else "not measured"
            return WindowResult(State.INCONCLUSIVE, f"{signal}: no baseline before the deploy: {why}", limit=limit_text)
        upper = op in ("<", "<=")
        relative = baseline.value * (1 + criterion.tolerance if upper else 1 - criterion.tolerance)
        checks.append((op, relative))
        within = f"baseline {_num(baseline.value)}{unit} ± {criterion.tolerance:.0%}"
        limit_text += f" and {op} {_num(relative)}{unit} ({within})"
    ordered = sorted(points, key=lambda p: p.at)
    valid = [p for p in ordered if p.value is not None]
    missing = [p for p in ordered if p.value is None]
    current = valid[-1].value if valid else None
    run_start: float | None = None
    for point in ordered:
        if point.value is None:
            run_start = None  # a gap breaks a run: "sustained" needs every evaluation
            continue
        if all(_COMPARE[o](point.value, lim) for o, lim in checks):
            run_start = None
            continue
        run_start = point.at if run_start is None else run_start
        if point.at - run_start >= criterion.for_:
            lasted = f" for {point.at - run_start:.0f}s" if criterion.for_ > 0 else ""
            sustained = f"sustained: for {_num(criterion.for_)}s"
            reason = f"{signal} = {_num(point.value)}{unit}, not {limit_text}{lasted} ({sustained})"
            return WindowResult(
                State.FAIL, reason, current, point.value, point.at, len(valid), len(missing), limit_text, run_start
            )

    def made(state: State, reason: str) -> WindowResult:
        return WindowResult(state, reason, current, None, None, len(valid), len(missing), limit_text, run_start)

    if missing:
        last = ordered[-1]
        if last.value is None:
            return made(State.INCONCLUSIVE, f"{signal}: {last.error}")
        first = missing[0]
        reason = f"{signal}: no value at {len(missing)} of {len(ordered)} evaluations (first: {first.error})"
        return made(State.INCONCLUSIVE, reason)
    if run_start is not None:
        assert current is not None
        so_far = ordered[-1].at - run_start
        reason = f"{signal} = {_num(current)}{unit}, not {limit_text}, for {so_far:.0f}s (< {_num(criterion.for_)}s)"
        if final:
            return made(State.INCONCLUSIVE, f"window ended while breaching: {reason}")
        return made(State.BREACHING, reason)
    if len(valid) < criterion.min_samples:
        reason = f"{signal}: {len(valid)} of {criterion.min_samples} samples needed"
        return made(State.INCONCLUSIVE if final else State.PENDING, reason)
    reason = f"{signal} {limit_text} at all {len(valid)} evaluations (last {_num(current or 0.0)}{unit})"
    return made(State.PASS, reason)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"
