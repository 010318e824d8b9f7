"""Signals computed from the harness's own scrapes of Prometheus-text / OpenMetrics endpoints.

Each evaluation scrapes every endpoint once (parsed with `prometheus_client`'s text parser) and keeps
the snapshots of the last `window`; a signal compares the newest snapshot with the oldest one inside
its window: `increase` and `rate` of counters (a reset counts from zero, as in Prometheus), `ratio`
of two increases, `quantile` of a histogram's bucket increases (interpolated like histogram_quantile).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx
from prometheus_client.parser import text_string_to_metric_families

from rollout_gate.watch.config import MetricSelector, ScrapeSource, Signal

Series = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class Snapshot:
    at: float
    values: dict[Series, float]


class ScrapeError(Exception):
    """No number for a signal from the scrapes; the message says why."""


def parse_exposition(text: str) -> dict[Series, float]:
    """Every sample of a Prometheus-text / OpenMetrics body, keyed by sample name and sorted labels."""
    out: dict[Series, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = float(sample.value)
    return out


def label_matcher(spec: Mapping[str, str]) -> Callable[[Mapping[str, str]], bool]:
    """`value` equal, `~regex` matches, `!value` differs, `!~regex` does not match (regexes are anchored)."""
    tests = [_label_test(key, raw) for key, raw in spec.items()]
    return lambda labels: all(t(labels) for t in tests)


def _label_test(key: str, raw: str) -> Callable[[Mapping[str, str]], bool]:
    negate = raw.startswith("!")
    body = raw[1:] if negate else raw
    if body.startswith("~"):
        pattern = re.compile(body[1:])
        return lambda labels: (pattern.fullmatch(labels.get(key, "")) is not None) != negate
    return lambda labels: (labels.get(key, "") == body) != negate


def increase(
    new: Snapshot,
    old: Snapshot,
    name: str,
    labels: Mapping[str, str],
    *,
    by: str | None = None,
    none_is_zero: bool = False,
) -> dict[str, float]:
    """Summed increase of matching series between two snapshots, grouped by label `by` (or under "").

    `none_is_zero`: no series matching the labels is an increase of 0 while the metric itself is
    exposed (no 5xx series before the first 5xx), as PromQL's `or … * 0`; a metric gone is an error.
    """
    match = label_matcher(labels)
    sums: dict[str, float] = {}
    found = exposed = False
    for (sample, pairs), value in new.values.items():
        if sample != name:
            continue
        exposed = True
        as_dict = dict(pairs)
        if not match(as_dict):
            continue
        found = True
        before = old.values.get((sample, pairs), 0.0)
        delta = value - before if value >= before else value  # a counter reset starts again from zero
        key = as_dict.get(by, "") if by else ""
        sums[key] = sums.get(key, 0.0) + delta
    if not found and none_is_zero and exposed:
        return {"": 0.0}
    if not found:
        raise ScrapeError(f"no series {name}{_labels_text(labels)} in the scrape")
    return sums


def histogram_quantile(q: float, buckets: Mapping[str, float]) -> float:
    """Prometheus's interpolation over cumulative bucket counts keyed by `le`."""
    bounds = sorted(((math.inf if le == "+Inf" else float(le)), n) for le, n in buckets.items())
    if not bounds or bounds[-1][0] != math.inf:
        raise ScrapeError("histogram without a +Inf bucket")
    total = bounds[-1][1]
    if total <= 0:
        raise ScrapeError("no observations in the window")
    rank = q * total
    prev_bound, prev_count = 0.0, 0.0
    for bound, count in bounds:
        if count >= rank:
            if bound == math.inf:
                return prev_bound  # as Prometheus: the highest finite bound
            if count == prev_count:
                return bound
            return prev_bound + (bound - prev_bound) * (rank - prev_count) / (count - prev_count)
        prev_bound, prev_count = bound, count
    return prev_bound


def compute(signal: Signal, new: Snapshot, old: Snapshot) -> float:
    assert signal.kind is not None and signal.metric is not None
    span = new.at - old.at
    if signal.kind == "quantile":
        assert signal.quantile is not None
        buckets = increase(new, old, signal.metric + "_bucket", signal.labels, by="le")
        return histogram_quantile(signal.quantile, buckets) * signal.scale
    total = sum(increase(new, old, signal.metric, signal.labels, none_is_zero=signal.kind != "rate").values())
    if signal.kind == "increase":
        return total * signal.scale
    if signal.kind == "rate":
        return total / span * signal.scale
    denominator: MetricSelector | None = signal.denominator
    assert denominator is not None
    under = sum(increase(new, old, denominator.metric, denominator.labels).values())
    if under <= 0:
        raise ScrapeError(f"no {denominator.metric}{_labels_text(denominator.labels)} counted in the window")
    return total / under * signal.scale


def _labels_text(labels: Mapping[str, str]) -> str:
    return "{" + ",".join(f"{k}={v}" for k, v in labels.items()) + "}" if labels else ""


class ScrapeReader:
    name = "scrape"

    def __init__(
        self, cfg: ScrapeSource, *, base_url: str | None, interval: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.cfg = cfg
        self.interval = interval
        self.clock = clock
        base = (base_url or "").rstrip("/") + "/"
        self.urls = [e if "://" in e else urljoin(base, e.lstrip("/")) for e in cfg.endpoints]
        self.client = httpx.Client(timeout=cfg.timeout, trust_env=False)
        self.history: list[Snapshot] = []

    def close(self) -> None:
        self.client.close()

    def scrape(self) -> Snapshot:
        values: dict[Series, float] = {}
        for url in self.urls:
            where = urlsplit(url)
            name = f"{where.hostname}:{where.port}{where.path}"
            try:
                response = self.client.get(url)
            except httpx.HTTPError as exc:
                raise ScrapeError(f"scrape of {name} failed: {type(exc).__name__}") from None
            if response.status_code != 200:
                raise ScrapeError(f"scrape of {name} failed: HTTP {response.status_code}")
            try:
                values.update(parse_exposition(response.text))
            except ValueError as exc:
                raise ScrapeError(f"scrape of {name}: not Prometheus text: {str(exc).splitlines()[0][:120]}") from None
        return Snapshot(self.clock(), values)

    def sample(self, signals: Mapping[str, Signal]) -> dict[str, float | str]:
        try:
            new = self.scrape()
        except ScrapeError as exc:
            return {name: str(exc) for name in signals}
        longest = max((s.window for s in signals.values()), default=0.0)
        self.history = [s for s in self.history if new.at - s.at <= longest + self.interval] + [new]
        out: dict[str, float | str] = {}
        for name, signal in signals.items():
            if signal.kind is None or signal.metric is None:
                out[name] = "no scrape computation for this signal (watch.signals.NAME.kind and metric)"
                continue
            older = [s for s in self.history[:-1] if new.at - s.at <= signal.window + self.interval / 2]
            if not older:
                out[name] = "no earlier scrape inside the window yet"
                continue
            try:
                out[name] = compute(signal, new, older[0])
            except ScrapeError as exc:
                out[name] = str(exc)
        return out
