"""Signals read from the Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`).

Every way of not having a number is a point without a value and a reason: the server unreachable,
an HTTP or PromQL error, no series, NaN, several series where one was meant, or a raw series whose
newest sample is older than two intervals (a scrape target that stopped answering).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from rollout_gate.watch.config import PrometheusSource, Signal
from rollout_gate.watch.window import Baseline


class QueryError(Exception):
    """A query gave no usable number; the message says why (one line, no secrets)."""


def promql_duration(seconds: float) -> str:
    return f"{int(seconds * 1000)}ms" if not float(seconds).is_integer() else f"{int(seconds)}s"


def render(signal: Signal) -> str:
    assert signal.query is not None
    return signal.query.replace("{window}", promql_duration(signal.window))


class PrometheusReader:
    name = "prometheus"

    def __init__(self, cfg: PrometheusSource, *, interval: float) -> None:
        self.cfg = cfg
        self.interval = interval
        if not cfg.url:
            raise ValueError("watch.prometheus.url is not set")
        self.base = cfg.url.rstrip("/")
        parts = urlsplit(self.base)
        self.where = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
        headers = {}
        if cfg.bearer_token is not None:
            headers["Authorization"] = f"Bearer {cfg.bearer_token.get_secret_value()}"
        self.client = httpx.Client(headers=headers, timeout=cfg.timeout, trust_env=False)

    def close(self) -> None:
        self.client.close()

    def sample(self, signals: Mapping[str, Signal]) -> dict[str, float | str]:
        """Each signal's value now, or the reason it has none."""
        ages: dict[str, float | str] = {}
        out: dict[str, float | str] = {}
        for name, signal in signals.items():
            try:
                if signal.query is None:
                    raise QueryError("no PromQL query for this signal (watch.signals.NAME.query)")
                if signal.series:
                    if signal.series not in ages:
                        try:
                            ages[signal.series] = self._age(signal.series)
                        except QueryError as exc:
                            ages[signal.series] = str(exc)
                    age = ages[signal.series]
                    if isinstance(age, str):
                        raise QueryError(age)
                    if age > 2 * self.interval:
                        raise QueryError(f"series {signal.series} is {age:.1f}s old (older than two intervals)")
                out[name] = self._instant(render(signal))
            except QueryError as exc:
                out[name] = str(exc)
        return out

    def baseline(self, signal: Signal, window: float, end: float) -> Baseline:
        """The signal's mean over `window` seconds before `end` (epoch seconds)."""
        if signal.query is None:
            return Baseline(None, "no PromQL query for this signal")
        step = max(self.interval, window / 200)
        params = {"query": render(signal), "start": end - window, "end": end, "step": step}
        try:
            data = self._get("/api/v1/query_range", params)
            series = data.get("result") or []
            if len(series) != 1:
                raise QueryError(f"baseline: {len(series)} series (want exactly 1)")
            values = [float(v) for _, v in series[0].get("values", []) if math.isfinite(float(v))]
            if not values:
                raise QueryError("baseline: no values in the window before the deploy")
        except QueryError as exc:
            return Baseline(None, str(exc))
        return Baseline(sum(values) / len(values))

    # -- helpers ---------------------------------------------------------------------

    def _age(self, series: str) -> float:
        data = self._get("/api/v1/query", {"query": f"time() - max(timestamp({series}))"})
        result = data.get("result") or []
        if not result:
            raise QueryError(f"no series {series}")
        return float(result[0]["value"][1])

    def _instant(self, query: str) -> float:
        data = self._get("/api/v1/query", {"query": query, "time": time.time()})
        kind, result = data.get("resultType"), data.get("result")
        if kind == "scalar":
            raw: Any = result[1] if isinstance(result, list) else None
        elif kind == "vector":
            if not result:
                raise QueryError(f"no series for {query}")
            if len(result) > 1:
                raise QueryError(f"{len(result)} series for {query} (aggregate it to one)")
            raw = result[0]["value"][1]
        else:
            raise QueryError(f"unexpected result type {kind} for {query}")
        value = float(raw)
        if not math.isfinite(value):
            raise QueryError(f"{query} is {raw} (no requests in the window?)")
        return value

    def _get(self, path: str, params: Mapping[str, object]) -> dict[str, Any]:
        try:
            response = self.client.get(self.base + path, params=dict(params))  # type: ignore[arg-type]
        except httpx.TimeoutException:
            raise QueryError(f"Prometheus at {self.where}: no answer within {self.cfg.timeout:g}s") from None
        except httpx.HTTPError as exc:
            raise QueryError(f"Prometheus unreachable at {self.where}: {type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            raise QueryError(f"Prometheus at {self.where}: HTTP {response.status_code}, not JSON") from None
        if response.status_code != 200 or body.get("status") != "success":
            detail = str(body.get("error") or f"HTTP {response.status_code}").splitlines()[0]
            raise QueryError(f"query error from Prometheus at {self.where}: {detail}")
        data = body.get("data")
        if not isinstance(data, dict):
            raise QueryError(f"Prometheus at {self.where}: answer without data")
        return data
