"""The watch loop on a scripted reader (early stop, progress file), the scrape computations, fault delays."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

import pytest

from rollout_gate.criteria.models import Action
from rollout_gate.reference_app.app.faults import Fault, Faults
from rollout_gate.watch.config import Signal, WatchConfig
from rollout_gate.watch.runner import Watch
from rollout_gate.watch.scrape import ScrapeError, Snapshot, compute, histogram_quantile, parse_exposition
from rollout_gate.watch.window import State


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Scripted:
    """Hand-made samples per evaluation: a value, or the reason there is none."""

    name = "scripted"

    def __init__(self, script: list[Mapping[str, float | str]]) -> None:
        self.script = script
        self.calls = 0

    def sample(self, signals: Mapping[str, Signal]) -> dict[str, float | str]:
        row = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        return {name: row.get(name, "no series") for name in signals}

    def close(self) -> None:
        pass


def config(duration: str = "20s") -> WatchConfig:
    return WatchConfig.model_validate(
        {
            "interval": "2s",
            "duration": duration,
            "criteria": [
                {"id": "warn", "signal": "error_rate", "threshold": "<= 0.05", "for": "2s", "min_samples": 3},
                {"id": "rollback", "signal": "error_rate", "threshold": "<= 0.10", "for": "4s", "min_samples": 3},
                {"id": "p95", "signal": "p95_ms", "threshold": "<= 500", "min_samples": 3},
            ],
        }
    )


ACTIONS = {"warn": Action.WARN, "rollback": Action.ROLLBACK, "p95": Action.NO_GO}


def run(script: list[Mapping[str, float | str]], tmp_path: Path, actions: Mapping[str, Action] = ACTIONS) -> tuple:
    clock = Clock()
    lines: list[str] = []
    watch = Watch(
        cfg=config(),
        reader=Scripted(script),
        actions=actions,
        progress=tmp_path / "watch.json",
        report=lines.append,
        source="scripted",
        clock=clock,
        sleep=clock.sleep,
    )
    return watch.run(), lines, json.loads((tmp_path / "watch.json").read_text())


def test_clean_window_runs_its_whole_duration(tmp_path: Path) -> None:
    outcome, lines, progress = run([{"error_rate": 0.0, "p95_ms": 120.0}], tmp_path)
    assert outcome.evaluations == 11 and not outcome.stopped_early
    assert {r.state for r in outcome.results.values()} == {State.PASS}
    assert progress["state"] == "done" and progress["remaining_s"] == 0
    assert any("10s remaining" in line for line in lines)
    assert any("p95_ms = 120 (healthy: <= 500 ms) -> pass" in line for line in lines)


def test_a_rollback_trigger_ends_the_window_at_once(tmp_path: Path) -> None:
    script: list[Mapping[str, float | str]] = [{"error_rate": 0.0, "p95_ms": 100.0}] * 2
    script += [{"error_rate": 0.3, "p95_ms": 100.0}] * 10
    outcome, _, progress = run(script, tmp_path)
    assert outcome.results["rollback"].state == State.FAIL
    assert outcome.evaluations == 5  # breaching at 4 s, 6 s, 8 s: sustained 4 s
    assert outcome.elapsed_s == 8 and outcome.stopped_early.startswith("rollback (rollback): error_rate = 0.3")
    assert progress["stopped_early"] and progress["remaining_s"] == 12


def test_a_warn_level_breach_does_not_end_the_window(tmp_path: Path) -> None:
    script: list[Mapping[str, float | str]] = [{"error_rate": 0.07, "p95_ms": 100.0}]
    outcome, _, _ = run(script, tmp_path)
    assert outcome.results["warn"].state == State.FAIL and outcome.results["rollback"].state == State.PASS
    assert outcome.evaluations == 11 and not outcome.stopped_early


def test_a_no_go_breach_ends_the_window_only_when_nothing_could_roll_back(tmp_path: Path) -> None:
    script: list[Mapping[str, float | str]] = [{"error_rate": 0.0, "p95_ms": 900.0}]
    outcome, _, _ = run(script, tmp_path)
    assert outcome.results["p95"].state == State.FAIL and outcome.evaluations == 11
    staging = {"warn": Action.WARN, "rollback": Action.NO_GO, "p95": Action.NO_GO}
    outcome, _, _ = run(script, tmp_path, staging)
    assert outcome.evaluations == 1 and outcome.stopped_early.startswith("p95 (no_go)")


def test_a_source_lost_mid_window_makes_every_criterion_inconclusive(tmp_path: Path) -> None:
    script: list[Mapping[str, float | str]] = [{"error_rate": 0.0, "p95_ms": 100.0}] * 4
    lost = "Prometheus unreachable at 127.0.0.1:9"
    script += [{"error_rate": lost, "p95_ms": lost}]
    outcome, _, progress = run(script, tmp_path)
    assert {r.state for r in outcome.results.values()} == {State.INCONCLUSIVE}
    assert outcome.results["p95"].reason == "p95_ms: Prometheus unreachable at 127.0.0.1:9"
    assert [c["state"] for c in progress["criteria"]] == ["inconclusive"] * 3


# -- the scrape source's computations -----------------------------------------------------

EXPOSITION = """# TYPE http_requests_total counter
http_requests_total{{method="GET",route="/api/p",status="200"}} {ok}
http_requests_total{{method="GET",route="/api/p",status="500"}} {bad}
http_requests_total{{method="GET",route="/metrics",status="200"}} {scrapes}
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{{method="GET",route="/api/p",le="0.1"}} {fast}
http_request_duration_seconds_bucket{{method="GET",route="/api/p",le="1.0"}} {total}
http_request_duration_seconds_bucket{{method="GET",route="/api/p",le="+Inf"}} {total}
http_request_duration_seconds_sum{{method="GET",route="/api/p"}} 1.0
http_request_duration_seconds_count{{method="GET",route="/api/p"}} {total}
"""


def snap(at: float, **counts: float) -> Snapshot:
    return Snapshot(at, parse_exposition(EXPOSITION.format(**counts)))


def test_ratio_increase_and_quantile_from_two_scrapes() -> None:
    cfg = WatchConfig()
    old = snap(0, ok=100, bad=0, scrapes=10, fast=100, total=100)
    new = snap(10, ok=180, bad=20, scrapes=20, fast=110, total=200)
    assert compute(cfg.signals["error_rate"], new, old) == pytest.approx(20 / 100)  # /metrics left out
    p95 = compute(cfg.signals["p95_ms"], new, old)  # 10 of 100 new requests under 0.1 s, 90 up to 1 s
    assert p95 == pytest.approx(1000 * (0.1 + 0.9 * (95 - 10) / 90))
    rate = Signal(kind="rate", metric="http_requests_total", labels={"status": "~5.."})
    assert compute(rate, new, old) == pytest.approx(2.0)


def test_a_counter_reset_counts_from_zero() -> None:
    increase = Signal(kind="increase", metric="http_requests_total", labels={"status": "500"})
    old = snap(0, ok=100, bad=50, scrapes=1, fast=1, total=1)
    new = snap(5, ok=3, bad=4, scrapes=1, fast=1, total=1)  # the app restarted
    assert compute(increase, new, old) == 4


def test_no_matching_series_or_no_requests_is_an_error_not_zero() -> None:
    cfg = WatchConfig()
    old = snap(0, ok=100, bad=0, scrapes=1, fast=100, total=100)
    with pytest.raises(ScrapeError, match=re.escape("no series http_requests_total{route=/auth/sign-in}")):
        compute(cfg.signals["login_failure_rate"], old, old)  # no failed sign-in series is 0, no sign-ins is not
    assert compute(cfg.signals["workspace_failures"], old, old) == 0  # the metric is there, no failure yet
    gone = Snapshot(5, parse_exposition("# TYPE other counter\nother_total 1\n"))
    with pytest.raises(ScrapeError, match="no series http_requests_total"):
        compute(cfg.signals["workspace_failures"], gone, old)
    with pytest.raises(ScrapeError, match="counted in the window"):
        compute(cfg.signals["error_rate"], old, old)
    with pytest.raises(ScrapeError, match="no observations"):
        histogram_quantile(0.95, {"0.1": 0, "+Inf": 0})


# -- fault flags with a start delay --------------------------------------------------------


def test_a_delayed_fault_starts_after_its_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    import rollout_gate.reference_app.app.faults as faults

    now = [1000.0]
    monkeypatch.setattr(faults.time, "monotonic", lambda: now[0])
    parsed = Faults.parse("failing_projects@8, no_metrics")
    assert Fault.NO_METRICS in parsed and Fault.FAILING_PROJECTS not in parsed
    now[0] += 8
    assert Fault.FAILING_PROJECTS in parsed
    assert parsed.spec() == "failing_projects@8,no_metrics"
    with pytest.raises(ValueError, match="flag@SECONDS"):
        Faults.parse("failing_projects@soon")
    with pytest.raises(ValueError, match="unknown fault flag"):
        Faults.parse("failing_project@8")
