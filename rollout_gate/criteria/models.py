"""Typed models of criteria: the shipped defaults file and the `criteria:` section of an environment file.

Every model forbids unknown keys, like the environment models, so a typo is an
error that names the key rather than a criterion silently left at its default.
"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from rollout_gate.phases import Phase


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Action(StrEnum):
    """What a failing criterion does to the verdict."""

    ROLLBACK = "rollback"  # immediate rollback trigger
    NO_GO = "no_go"  # blocks promotion
    WARN = "warn"  # listed, never blocks

    @property
    def severity(self) -> int:
        return {Action.WARN: 0, Action.NO_GO: 1, Action.ROLLBACK: 2}[self]

    @property
    def blocking(self) -> bool:
        return self is not Action.WARN


class FlakyPolicy(StrEnum):
    """How a test that passed only after a rerun counts."""

    WARN = "warn"
    FAIL = "fail"


_THRESHOLD = re.compile(r"^\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*$")
OPERATORS = ("<", "<=", ">", ">=", "==", "!=")
# A threshold may name a field of the environment's `thresholds:` section instead of a number.
THRESHOLD_REFERENCE = re.compile(r"^thresholds\.([a-z_][a-z0-9_]*)$")


# What a measurement can be, by the ending of its name: a limit outside the range is a threshold that
# always or never holds (`load.error_rate > -0.5`). Other measurements (a plugin's own) are not checked.
_RANGES: tuple[tuple[tuple[str, ...], tuple[float, float]], ...] = (
    (("_rate", "_ratio"), (0.0, 1.0)),
    (("_ms", "_s", "_seconds", "_hits", "_count", "_bytes", "_rows"), (0.0, math.inf)),
)


def measurement_range(measurement: str) -> tuple[float, float] | None:
    """The values `measurement` can take (`load.error_rate`: 0 to 1), or None when its name does not say."""
    return next((bounds for endings, bounds in _RANGES if measurement.endswith(endings)), None)


class Threshold(Strict):
    """`< 500`: the observed value must satisfy the comparison for the criterion to pass."""

    op: str
    value: float | str

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, data: Any) -> Any:
        if isinstance(data, str):
            match = _THRESHOLD.match(data)
            if not match:
                ops = " ".join(OPERATORS)
                raise ValueError(f"threshold {data!r}: write it as '<OP> <number>' with OP one of {ops}")
            op, raw = match.groups()
            try:
                number = float(raw)
            except ValueError:
                return {"op": op, "value": raw}
            if not math.isfinite(number):
                # `< inf` passes every value and `!= nan` too: a threshold that cannot fail.
                raise ValueError(f"threshold {data!r}: {raw} is not a finite number; write a number")
            return {"op": op, "value": number}
        return data

    @field_validator("op")
    @classmethod
    def _known_op(cls, value: str) -> str:
        if value not in OPERATORS:
            raise ValueError(f"unknown operator {value!r} (choose from {' '.join(OPERATORS)})")
        return value

    @field_validator("value")
    @classmethod
    def _number_or_reference(cls, value: float | str) -> float | str:
        if isinstance(value, str) and not THRESHOLD_REFERENCE.match(value):
            raise ValueError(f"threshold value {value!r} is neither a number nor thresholds.NAME")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"threshold value {value} is not a finite number; write a number")
        return value

    def __str__(self) -> str:
        value = self.value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return f"{self.op} {value}"


class Rule(Strict):
    """A different action for some environments and/or phases (both optional; omitted means any)."""

    environments: tuple[str, ...] | None = None
    phases: tuple[Phase, ...] | None = None
    action: Action

    def matches(self, environment: str, phase: Phase | None) -> bool:
        if self.environments is not None and environment not in self.environments:
            return False
        return self.phases is None or (phase is not None and phase in self.phases)


class Feeds(Strict):
    """What feeds a criterion: tests marked `criterion(id)`, tests of a suite, and/or a measurement."""

    # Extra `criterion(...)` ids that feed it; a criterion is always fed by tests marked with its own id.
    criteria: tuple[str, ...] = ()
    # Every test carrying one of these suite markers feeds it (for measurements: the producer tests).
    suites: tuple[str, ...] = ()
    # ...except tests marked with one of these criterion ids (a warn-level check inside a blocking suite).
    not_criteria: tuple[str, ...] = ()
    measurement: str | None = None


def _check_min_samples(value: int | str) -> int | str:
    if isinstance(value, str):
        if not THRESHOLD_REFERENCE.match(value):
            raise ValueError("min_samples must be a whole number of at least 1 or thresholds.NAME")
    elif value < 1:
        # With 0, a measurement taken from no samples at all would count.
        raise ValueError(f"min_samples must be at least 1, not {value}")
    return value


# The fewest samples (e.g. requests) that make a measured value count: a whole number >= 1 or thresholds.NAME.
MinSamples = Annotated[int | str, AfterValidator(_check_min_samples)]

CriterionId = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_.\-]*$", max_length=80)]


class CriterionSpec(Strict):
    """One criterion as written in a criteria file."""

    id: CriterionId
    title: str
    runbook: str = ""
    phases: tuple[Phase, ...] = Field(min_length=1)
    feeds: Feeds = Feeds()
    action: Action = Action.NO_GO
    rules: tuple[Rule, ...] = ()
    # Measurements only: the comparison and the fewest samples (e.g. requests) that make a value count.
    threshold: Threshold | None = None
    min_samples: MinSamples = 1
    unit: str = ""
    flaky: FlakyPolicy = FlakyPolicy.FAIL
    # False: reported, but an inconclusive result does not block (a failure still does).
    required: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> CriterionSpec:
        if self.feeds.measurement and self.threshold is None:
            raise ValueError(f"criterion {self.id}: a measurement needs a threshold")
        if self.threshold is not None and not self.feeds.measurement:
            raise ValueError(f"criterion {self.id}: a threshold needs feeds.measurement")
        return self


class CriterionOverride(Strict):
    """The fields of a criterion an environment may change; rules are appended after the defaults' rules."""

    title: str | None = None
    phases: tuple[Phase, ...] | None = None
    action: Action | None = None
    rules: tuple[Rule, ...] = ()
    threshold: Threshold | None = None
    min_samples: MinSamples | None = None
    flaky: FlakyPolicy | None = None
    required: bool | None = None


class SectionRule(Rule):
    """An environment-wide rule for several criteria: `{criteria: [a, b], phases: [post-deploy], action: rollback}`."""

    criteria: tuple[str, ...] = Field(min_length=1)


class CriteriaSection(Strict):
    """The `criteria:` section of an environment file."""

    # A criteria file that replaces the shipped defaults (a path relative to the environment file).
    file: str | None = None
    disable: tuple[str, ...] = ()
    # Reported, but their inconclusive results do not block in this environment.
    optional: tuple[str, ...] = ()
    override: dict[str, CriterionOverride] = {}
    rules: tuple[SectionRule, ...] = ()
    add: tuple[CriterionSpec, ...] = ()


class CriteriaFile(Strict):
    """A criteria file (the shipped `defaults.yaml` or a project's own)."""

    version: int = Field(default=1, ge=1, le=1)
    criteria: tuple[CriterionSpec, ...]

    @field_validator("criteria")
    @classmethod
    def _unique_ids(cls, value: tuple[CriterionSpec, ...]) -> tuple[CriterionSpec, ...]:
        seen: set[str] = set()
        for spec in value:
            if spec.id in seen:
                raise ValueError(f"criterion {spec.id} is defined twice")
            seen.add(spec.id)
        return value
