"""The `watch:` block of an environment file: metric sources, named signals, and window criteria.

Signals are named queries: PromQL for a Prometheus source, or metric name + labels + a computation
(`rate`, `ratio`, `quantile`, `increase`) over successive scrapes for the scrape source. The defaults
match the reference app's `/metrics` (`http_requests_total`, `http_request_duration_seconds`) and the
runbooks' "Monitoring During Deployment" triggers.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, field_validator, model_validator

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(value: object) -> float:
    """`30s`, `5m`, `1h`, `250ms` or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or '30s' / '5m' / '1h'")
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration (write 30s, 5m, 1h or a number of seconds)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_percent(value: object) -> float:
    """`10%` -> 0.10; a plain number is a fraction already."""
    if isinstance(value, str) and value.strip().endswith("%"):
        return float(value.strip()[:-1]) / 100.0
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{value!r} is not a fraction or a percentage")
    return float(value)


Seconds = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]
Fraction = Annotated[float, BeforeValidator(parse_percent), Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PrometheusSource(_Strict):
    """The Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`)."""

    # Unset: the local target's own Prometheus (the rehearsal starts one); a deployed environment gives it.
    url: str | None = None
    # A `${VAR}` reference; sent as `Authorization: Bearer …`, never printed.
    bearer_token: SecretStr | None = None
    timeout: Seconds = 5.0

    @field_validator("url", "bearer_token", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `${VAR:-}` with VAR unset: no URL / no token, not an empty one.
        return None if isinstance(value, str) and not value.strip() else value


class ScrapeSource(_Strict):
    """OpenMetrics / Prometheus-text endpoints the harness scrapes itself, every `watch.interval`."""

    # Absolute URLs, or paths on the target's base URL (`/metrics`).
    endpoints: tuple[str, ...] = Field(min_length=1)
    timeout: Seconds = 5.0


class MetricSelector(_Strict):
    """Samples of one metric family whose labels match (`value`, `~regex`, `!value`, `!~regex`)."""

    metric: str
    labels: dict[str, str] = {}


class Signal(_Strict):
    """A named query: `query` (PromQL) for Prometheus; `metric`/`labels`/`kind` for the scrape source."""

    # PromQL; `{window}` is replaced by the signal's `window` (e.g. `rate(x[{window}])`).
    query: str | None = None
    # A raw series whose newest sample must be younger than two intervals (PromQL selector).
    series: str | None = None
    # Scrape: `rate` (per second), `increase` (over the window), `ratio` (increase of `metric`/`labels`
    # over increase of `denominator`), `quantile` (of a histogram's increase over the window).
    kind: Literal["rate", "increase", "ratio", "quantile"] | None = None
    metric: str | None = None
    labels: dict[str, str] = {}
    denominator: MetricSelector | None = None
    quantile: float | None = Field(default=None, gt=0, lt=1)
    # Multiplies the value (1000: seconds -> ms).
    scale: float = 1.0
    # The range the rate/increase/quantile is taken over.
    window: Seconds = 60.0
    unit: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Signal:
        if self.kind == "ratio" and self.denominator is None:
            raise ValueError("kind ratio needs denominator")
        if self.kind == "quantile" and self.quantile is None:
            raise ValueError("kind quantile needs quantile")
        if self.kind is not None and not self.metric:
            raise ValueError(f"kind {self.kind} needs metric")
        if self.window <= 0:
            raise ValueError("window must be > 0")
        return self


class WatchCriterion(_Strict):
    """`signal` must stay within `threshold`; it fails when every evaluation in the last `for` breaches.

    Its action (warn, no_go, rollback) is the gate criterion's of the same id, decided by phase and
    environment like every criterion (rollout_gate/criteria/defaults.yaml).
    """

    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.\-]*$")
    signal: str
    # `<= 0.10`, `< 1000`: the condition a healthy value satisfies.
    threshold: str
    for_: Seconds = Field(default=0.0, alias="for")
    # Valid evaluation points needed before a pass counts.
    min_samples: int = Field(default=3, ge=1)
    # `baseline`: compare with the same signal over `baseline_window` before the watch (Prometheus only).
    compare: Literal["baseline"] | None = None
    tolerance: Fraction = 0.10
    baseline_window: Seconds = 600.0

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("threshold")
    @classmethod
    def _threshold(cls, value: str) -> str:
        from rollout_gate.watch.threshold import parse_threshold

        parse_threshold(value)
        return value


def default_signals() -> dict[str, Signal]:
    """Signals over the reference app's metrics; the scrape fields mirror the PromQL."""
    req = "http_requests_total"
    user = '{route!="/metrics"}'
    errors = '{route!="/metrics",status=~"5.."}'
    sign_in = '{route="/auth/sign-in"}'
    sign_in_failed = '{route="/auth/sign-in",status!~"2.."}'
    workspace_failed = '{route="/api/organizations/ensure-personal-workspace",status=~"5.."}'
    total = f"sum(rate({req}{user}[{{window}}]))"
    return {
        # The `or … * 0` terms: no error series yet is a rate of 0, but only while requests are counted.
        "error_rate": Signal(
            query=f"(sum(rate({req}{errors}[{{window}}])) or {total} * 0) / {total}",
            series=req,
            kind="ratio",
            metric=req,
            labels={"route": "!/metrics", "status": "~5.."},
            denominator=MetricSelector(metric=req, labels={"route": "!/metrics"}),
            window=60.0,
        ),
        "p95_ms": Signal(
            query=(
                "histogram_quantile(0.95, sum by (le) "
                '(rate(http_request_duration_seconds_bucket{route!="/metrics"}[{window}]))) * 1000'
            ),
            series="http_request_duration_seconds_bucket",
            kind="quantile",
            metric="http_request_duration_seconds",
            labels={"route": "!/metrics"},
            quantile=0.95,
            scale=1000.0,
            window=60.0,
            unit="ms",
        ),
        "login_failure_rate": Signal(
            query=(
                f"(sum(rate({req}{sign_in_failed}[{{window}}])) or {total} * 0) / sum(rate({req}{sign_in}[{{window}}]))"
            ),
            series=req,
            kind="ratio",
            metric=req,
            labels={"route": "/auth/sign-in", "status": "!~2.."},
            denominator=MetricSelector(metric=req, labels={"route": "/auth/sign-in"}),
            window=60.0,
        ),
        "workspace_failures": Signal(
            query=f"sum(increase({req}{workspace_failed}[{{window}}])) or {total} * 0",
            series=req,
            kind="increase",
            metric=req,
            labels={"route": "/api/organizations/ensure-personal-workspace", "status": "~5.."},
            window=300.0,
        ),
    }


def default_criteria() -> tuple[WatchCriterion, ...]:
    """The runbooks' monitoring triggers ([MDR] Alerting Thresholds, Immediate Rollback Triggers, Key Metrics)."""
    rows = (
        ("watch_error_rate_warn", "error_rate", "<= 0.05", "2m"),
        ("watch_error_rate", "error_rate", "<= 0.10", "5m"),
        ("watch_p95", "p95_ms", "<= 1000", "5m"),
        ("watch_login_failures", "login_failure_rate", "<= 0.02", "1m"),
        ("watch_workspace_failures", "workspace_failures", "<= 10", "0s"),
    )
    return tuple(
        WatchCriterion.model_validate({"id": i, "signal": sig, "threshold": t, "for": f, "min_samples": 5})
        for i, sig, t, f in rows
    )


class WatchConfig(_Strict):
    """The watch phase (docs/watch.md)."""

    prometheus: PrometheusSource | None = None
    scrape: ScrapeSource | None = None
    # Which source the signals are read from when both are given.
    source: Literal["prometheus", "scrape"] | None = None
    interval: Seconds = 15.0
    duration: Seconds = 600.0
    # Before the window: wait up to this long for every signal to have a value (a fresh Prometheus).
    warmup: Seconds = 0.0
    # Merged over the defaults by name: `signals: {error_rate: {window: 5s}}` changes only the window.
    signals: dict[str, Signal] = Field(default_factory=default_signals)
    # Replaces the defaults as a whole when given.
    criteria: tuple[WatchCriterion, ...] = Field(default_factory=default_criteria)

    @field_validator("signals", mode="before")
    @classmethod
    def _merge_signals(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        merged: dict[str, object] = {}
        defaults = default_signals()
        for name, given in {**{n: {} for n in defaults}, **value}.items():
            if name in defaults and isinstance(given, dict):
                base = defaults[name].model_dump(exclude_defaults=True)
                merged[name] = {**base, **given}
            else:
                merged[name] = given
        return merged

    @model_validator(mode="after")
    def _consistent(self) -> WatchConfig:
        if self.interval <= 0:
            raise ValueError("interval must be > 0")
        seen: set[str] = set()
        for c in self.criteria:
            if c.id in seen:
                raise ValueError(f"criteria: {c.id} is listed twice")
            seen.add(c.id)
            if c.signal not in self.signals:
                raise ValueError(f"criteria: {c.id}: unknown signal {c.signal} (known: {', '.join(self.signals)})")
        if self.source == "prometheus" and self.prometheus is None:
            raise ValueError("source: prometheus needs watch.prometheus")
        if self.source == "scrape" and self.scrape is None:
            raise ValueError("source: scrape needs watch.scrape")
        return self

    @property
    def chosen_source(self) -> str | None:
        if self.source:
            return self.source
        if self.prometheus is not None:
            return "prometheus"
        return "scrape" if self.scrape is not None else None
