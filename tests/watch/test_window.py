"""Window evaluation on hand-made points: sustained breaches, gaps, staleness, min_samples, baselines."""

from __future__ import annotations

import pytest

from rollout_gate.watch.config import WatchConfig, WatchCriterion, parse_duration, parse_percent
from rollout_gate.watch.window import Baseline, Point, State, evaluate, parse_threshold


def crit(**fields: object) -> WatchCriterion:
    base: dict[str, object] = {"id": "c", "signal": "error_rate", "threshold": "<= 0.10", "for": "6s", "min_samples": 3}
    return WatchCriterion.model_validate({**base, **fields})


def points(*values: float | None, every: float = 2.0, error: str = "no series for q") -> list[Point]:
    return [Point(i * every, v, "" if v is not None else error) for i, v in enumerate(values)]


def test_a_breach_shorter_than_for_does_not_fail_and_a_sustained_one_does() -> None:
    c = crit()
    short = evaluate(c, points(0.0, 0.5, 0.5, 0.0, 0.0), final=True)  # breached 2 s of the 6 needed
    assert short.state == State.PASS
    sustained = evaluate(c, points(0.0, 0.5, 0.5, 0.5, 0.5, 0.0), final=True)  # 2 s .. 8 s: 6 s
    assert sustained.state == State.FAIL
    assert sustained.fired_at == 8.0 and sustained.fired_value == 0.5
    assert "error_rate = 0.5, not <= 0.1" in sustained.reason


def test_a_failure_stays_a_failure_after_recovery() -> None:
    result = evaluate(crit(**{"for": "0s"}), points(0.0, 0.2, 0.0, 0.0), final=True)
    assert result.state == State.FAIL


def test_an_interrupted_breach_is_not_sustained() -> None:
    result = evaluate(crit(), points(0.5, 0.5, 0.0, 0.5, 0.5, 0.0), final=True)
    assert result.state == State.PASS


def test_a_gap_breaks_a_run_and_makes_the_criterion_inconclusive() -> None:
    result = evaluate(crit(), points(0.5, 0.5, None, 0.5, 0.5, 0.0), final=True)
    assert result.state == State.INCONCLUSIVE
    assert "no value at 1 of 6 evaluations (first: no series for q)" in result.reason


def test_the_newest_point_missing_names_its_reason() -> None:
    stale = "series http_requests_total is 9.0s old (older than two intervals)"
    result = evaluate(crit(), points(0.0, 0.0, 0.0, None, error=stale), final=True)
    assert result.state == State.INCONCLUSIVE
    assert result.reason == f"error_rate: {stale}"


def test_every_point_missing_is_inconclusive_never_a_pass() -> None:
    result = evaluate(crit(), points(None, None, None, None, error="Prometheus unreachable at 127.0.0.1:9"), final=True)
    assert result.state == State.INCONCLUSIVE
    assert "Prometheus unreachable" in result.reason
    assert result.samples == 0


def test_too_few_samples_is_pending_while_running_and_inconclusive_at_the_end() -> None:
    c = crit(min_samples=5)
    assert evaluate(c, points(0.0, 0.0), final=False).state == State.PENDING
    final = evaluate(c, points(0.0, 0.0), final=True)
    assert final.state == State.INCONCLUSIVE and "2 of 5 samples needed" in final.reason
    assert evaluate(c, points(0.0, 0.0, 0.0, 0.0, 0.0), final=True).state == State.PASS


def test_a_window_that_ends_while_breaching_is_inconclusive() -> None:
    running = evaluate(crit(), points(0.0, 0.0, 0.0, 0.5), final=False)
    assert running.state == State.BREACHING
    final = evaluate(crit(), points(0.0, 0.0, 0.0, 0.5), final=True)
    assert final.state == State.INCONCLUSIVE and final.reason.startswith("window ended while breaching")


def test_lower_bounds_breach_below() -> None:
    c = crit(threshold=">= 10", **{"for": "0s"})
    assert evaluate(c, points(12, 11, 10), final=True).state == State.PASS
    assert evaluate(c, points(12, 9, 12), final=True).state == State.FAIL


def test_baseline_tolerance_adds_a_relative_limit() -> None:
    c = crit(signal="p95_ms", threshold="<= 1000", compare="baseline", tolerance="10%", **{"for": "0s"})
    within = evaluate(c, points(205, 210, 219), final=True, baseline=Baseline(200.0))
    assert within.state == State.PASS
    worse = evaluate(c, points(205, 230, 210), final=True, baseline=Baseline(200.0))
    assert worse.state == State.FAIL and "baseline 200 ± 10%" in worse.reason
    # Still bounded by the absolute threshold even when the baseline was already bad.
    assert evaluate(c, points(1200, 1200, 1200), final=True, baseline=Baseline(1150.0)).state == State.FAIL


def test_no_baseline_is_inconclusive() -> None:
    c = crit(compare="baseline")
    result = evaluate(c, points(0.0, 0.0, 0.0), final=True, baseline=Baseline(None, "baseline: 0 series"))
    assert result.state == State.INCONCLUSIVE and "no baseline before the deploy: baseline: 0 series" in result.reason


def test_durations_percentages_and_thresholds_parse() -> None:
    assert parse_duration("5m") == 300 and parse_duration("250ms") == 0.25 and parse_duration(30) == 30
    assert parse_percent("10%") == pytest.approx(0.1) and parse_percent(0.2) == 0.2
    assert parse_threshold("<= 0.10") == ("<=", 0.1)
    with pytest.raises(ValueError, match="write it as"):
        parse_threshold("== 1")
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("five minutes")


def test_config_rejects_unknown_signals_and_merges_signal_overrides() -> None:
    with pytest.raises(ValueError, match="unknown signal nope"):
        WatchConfig.model_validate({"criteria": [{"id": "x", "signal": "nope", "threshold": "< 1"}]})
    cfg = WatchConfig.model_validate({"signals": {"error_rate": {"window": "5s"}}})
    assert cfg.signals["error_rate"].window == 5 and cfg.signals["error_rate"].query
    assert cfg.signals["p95_ms"].window == 60
    defaults = {c.id: c for c in WatchConfig().criteria}
    assert defaults["watch_error_rate"].for_ == 300 and defaults["watch_error_rate_warn"].for_ == 120
