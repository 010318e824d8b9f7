"""Measurements: numbers fed to criteria by producers that are not pass/fail tests (e.g. a load run's p95).

A test records one through the `rollout_measurements` fixture; the value travels to
the controller in the test's report (`user_properties`, so xdist carries it), a
plugin adds some through `pytest_rollout_measurements`, and other tools write
them into a gate file (`measurements` array) that `rollout-gate verdict` reads.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

MEASUREMENT_PROPERTY = "rollout_measurement"


@dataclass(frozen=True)
class Measurement:
    name: str
    value: float | None
    samples: int = 0
    unit: str = ""
    # Who measured: a test node id, a file, a plugin.
    source: str = ""
    # Set when the producer tried and could not measure (e.g. the load run crashed).
    error: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a measurement needs a name")
        if self.value is not None and (isinstance(self.value, bool) or not math.isfinite(float(self.value))):
            raise ValueError(f"measurement {self.name}: value must be a finite number, not {self.value!r}")
        if self.samples < 0:
            raise ValueError(f"measurement {self.name}: samples must be >= 0")
        if self.value is None and not self.error:
            raise ValueError(f"measurement {self.name}: give a value or an error")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, source: str = "") -> Measurement:
        value = data.get("value")
        return cls(
            name=str(data["name"]),
            value=None if value is None else float(value),
            samples=int(data.get("samples", 0)),
            unit=str(data.get("unit", "")),
            source=str(data.get("source") or source),
            error=str(data.get("error", "")),
        )


class MeasurementRecorder:
    """What the `rollout_measurements` fixture gives a test."""

    def __init__(self, properties: list[tuple[str, object]], source: str) -> None:
        self._properties = properties
        self._source = source

    def record(
        self, name: str, value: float | None, samples: int = 0, *, unit: str = "", error: str = ""
    ) -> Measurement:
        """Record `name = value` measured over `samples` samples (requests, probes…) for the gate."""
        measurement = Measurement(
            name=name,
            value=None if value is None else float(value),
            samples=samples,
            unit=unit,
            source=self._source,
            error=error,
        )
        self._properties.append((MEASUREMENT_PROPERTY, measurement.to_json()))
        return measurement

    def record_all(self, measurements: Iterable[Measurement]) -> None:
        for m in measurements:
            self.record(m.name, m.value, m.samples, unit=m.unit, error=m.error)
