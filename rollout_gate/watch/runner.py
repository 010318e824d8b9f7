"""The watch loop: evaluate every signal each `interval`, judge each criterion over its window, stop early
on a trigger, and rewrite a progress file at each evaluation so a long watch can be read at any time.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from rollout_gate.criteria.models import Action
from rollout_gate.watch.config import Signal, WatchConfig, WatchCriterion
from rollout_gate.watch.window import Baseline, Point, State, WindowResult, evaluate


class Reader(Protocol):
    name: str

    def sample(self, signals: Mapping[str, Signal]) -> dict[str, float | str]: ...

    def close(self) -> None: ...


@dataclass
class WatchOutcome:
    results: dict[str, WindowResult]
    points: dict[str, list[Point]]
    evaluations: int
    elapsed_s: float
    # Why the watch ended before `duration` (a trigger fired), else "".
    stopped_early: str = ""
    # Seconds the harness spent per evaluation (reading the source and judging), mean and max.
    cost_mean_s: float = 0.0
    cost_max_s: float = 0.0
    baselines: dict[str, Baseline] = field(default_factory=dict)


@dataclass
class Watch:
    cfg: WatchConfig
    reader: Reader
    # Action of each criterion in this environment and phase (warn / no_go / rollback).
    actions: Mapping[str, Action]
    progress: Path | None = None
    report: Callable[[str], None] = lambda line: None
    source: str = ""
    baselines: Mapping[str, Baseline] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    # More for the progress file (e.g. the local background traffic), given the window's start on `clock`.
    extra: Callable[[float], Mapping[str, Any]] | None = None
    started: float = 0.0

    def run(self) -> WatchOutcome:
        cfg = self.cfg
        signals = {c.signal: cfg.signals[c.signal] for c in cfg.criteria}
        self._warm_up(signals)
        start = self.started = self.clock()
        points: dict[str, list[Point]] = {name: [] for name in signals}
        costs: list[float] = []
        stopped = ""
        results: dict[str, WindowResult] = {}
        while True:
            began = self.clock()
            values = self.reader.sample(signals)
            at = began - start
            for name in signals:
                value = values.get(name, "no answer for this signal")
                points[name].append(Point(at, value, "") if isinstance(value, float) else Point(at, None, str(value)))
            results = self._judge(points, final=False)
            costs.append(self.clock() - began)
            remaining = max(0.0, cfg.duration - (self.clock() - start))
            stopped = self._trigger(results)
            done = bool(stopped) or remaining <= 0
            if done:
                results = self._judge(points, final=True)
            self._show(results, values, at, remaining, len(costs))
            self._write(results, at, remaining, len(costs), "done" if done else "running", stopped, costs)
            if done:
                break
            wake = min(began + cfg.interval, start + cfg.duration)
            self.sleep(max(0.0, wake - self.clock()))
        return WatchOutcome(
            results=results,
            points=points,
            evaluations=len(costs),
            elapsed_s=self.clock() - start,
            stopped_early=stopped,
            cost_mean_s=sum(costs) / len(costs),
            cost_max_s=max(costs),
            baselines=dict(self.baselines),
        )

    # -- steps -----------------------------------------------------------------------

    def _warm_up(self, signals: Mapping[str, Signal]) -> None:
        """A fresh source (a Prometheus just started) may need a few scrapes before every signal has a value."""
        if self.cfg.warmup <= 0:
            return
        deadline = self.clock() + self.cfg.warmup
        while True:
            values = self.reader.sample(signals)
            if all(isinstance(values.get(n), float) for n in signals) or self.clock() >= deadline:
                return
            self.sleep(min(self.cfg.interval, max(0.0, deadline - self.clock())))

    def _judge(self, points: Mapping[str, list[Point]], *, final: bool) -> dict[str, WindowResult]:
        return {
            c.id: evaluate(
                c,
                points[c.signal],
                final=final,
                baseline=self.baselines.get(c.id),
                unit=self.cfg.signals[c.signal].unit,
            )
            for c in self.cfg.criteria
        }

    def _trigger(self, results: Mapping[str, WindowResult]) -> str:
        """Stop when a rollback trigger fired, or a blocking one when no criterion could do worse."""
        fired = [(c, self._action(c)) for c in self.cfg.criteria if results[c.id].state == State.FAIL]
        blocking = [(c, a) for c, a in fired if a.blocking]
        if not blocking:
            return ""
        worst_possible = max(self._action(c).severity for c in self.cfg.criteria)
        c, action = max(blocking, key=lambda pair: pair[1].severity)
        if action == Action.ROLLBACK or action.severity >= worst_possible:
            return f"{c.id} ({action.value}): {results[c.id].reason}"
        return ""

    def _action(self, c: WatchCriterion) -> Action:
        return self.actions.get(c.id, Action.NO_GO)

    def _show(
        self,
        results: Mapping[str, WindowResult],
        values: Mapping[str, float | str],
        at: float,
        remaining: float,
        n: int,
    ) -> None:
        self.report(f"watch [{self.source}] evaluation {n} at {at:.0f}s, {remaining:.0f}s remaining")
        for c in self.cfg.criteria:
            r = results[c.id]
            value = values.get(c.signal)
            shown = f"{value:.4g}" if isinstance(value, float) else f"none ({value})"
            self.report(f"  {c.id:<28} {c.signal} = {shown} (healthy: {r.limit}) -> {r.state.value}")

    def _write(
        self,
        results: Mapping[str, WindowResult],
        at: float,
        remaining: float,
        n: int,
        state: str,
        stopped: str,
        costs: list[float],
    ) -> None:
        if self.progress is None:
            return
        payload: dict[str, Any] = {
            "phase": "watch",
            "state": state,
            "source": self.source,
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "elapsed_s": round(at, 3),
            "remaining_s": round(remaining, 3),
            "duration_s": self.cfg.duration,
            "interval_s": self.cfg.interval,
            "evaluations": n,
            "cost_per_evaluation_s": round(sum(costs) / len(costs), 4),
            "stopped_early": stopped,
            "criteria": [
                {
                    "id": c.id,
                    "signal": c.signal,
                    "action": self._action(c).value,
                    "state": results[c.id].state.value,
                    "current": results[c.id].current,
                    "healthy": results[c.id].limit,
                    "for_s": c.for_,
                    "samples": results[c.id].samples,
                    "min_samples": c.min_samples,
                    "missing": results[c.id].missing,
                    "reason": results[c.id].reason,
                    "fired_at_s": results[c.id].fired_at,
                    "breaching_since_s": results[c.id].breach_since,
                }
                for c in self.cfg.criteria
            ],
        }
        if self.extra is not None:
            payload["traffic"] = dict(self.extra(self.started))
        write_json_atomic(self.progress, payload)


def write_json_atomic(path: Path, payload: Mapping[str, Any]) -> None:
    """Readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
