"""Resolve the criteria of one run: shipped defaults, then the environment's `criteria:` section.

The result is a list of `Criterion`, with thresholds that named the environment's
`thresholds:` section replaced by numbers and environment rules appended.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ValidationError

from rollout_gate.criteria.models import (
    THRESHOLD_REFERENCE,
    Action,
    CriteriaFile,
    CriteriaSection,
    CriterionOverride,
    CriterionSpec,
    FlakyPolicy,
    Rule,
    Threshold,
    measurement_range,
)
from rollout_gate.errors import ConfigError
from rollout_gate.phases import Phase
from rollout_gate.strict_yaml import YamlDocument, parse_yaml, read_yaml, validation_message

DEFAULTS_FILE = "defaults.yaml"
UNCLASSIFIED = "unclassified"
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True)
class Criterion:
    """A criterion ready to evaluate: numbers resolved, environment overrides applied."""

    id: str
    title: str
    phases: tuple[Phase, ...]
    action: Action = Action.NO_GO
    runbook: str = ""
    criteria_ids: frozenset[str] = frozenset()
    suites: frozenset[str] = frozenset()
    # Tests marked with one of these criterion ids do not feed it through their suite marker.
    not_criteria: frozenset[str] = frozenset()
    measurement: str | None = None
    op: str | None = None
    limit: float | None = None
    min_samples: int = 1
    unit: str = ""
    flaky: FlakyPolicy = FlakyPolicy.FAIL
    required: bool = True
    rules: tuple[Rule, ...] = ()
    # Made up for tests whose criterion id (or suite) no criteria file names.
    implicit: bool = False

    def fed_by(self, criteria: Iterable[str], suites: Iterable[str]) -> bool:
        criteria = set(criteria)
        if self.criteria_ids.intersection(criteria):
            return True
        return bool(self.suites.intersection(suites)) and not self.not_criteria.intersection(criteria)

    @property
    def threshold(self) -> str:
        if self.op is None or self.limit is None:
            return "every test passes"
        limit = int(self.limit) if float(self.limit).is_integer() else self.limit
        return f"{self.op} {limit}{' ' + self.unit if self.unit else ''}"

    def within(self, value: float) -> bool:
        assert self.op is not None and self.limit is not None
        return _COMPARE[self.op](value, self.limit)

    def worse(self, a: float, b: float) -> bool:
        """True when `a` is further from passing than `b` (a lower bound makes smaller values worse)."""
        return a < b if self.op in (">", ">=") else a > b

    def action_for(self, environment: str, phases: Iterable[Phase]) -> Action:
        """The action in this environment: per phase the last matching rule wins; across phases the most severe."""
        actions = []
        candidates: list[Phase | None] = [*phases] or [None]
        for phase in candidates:
            action = self.action
            for rule in self.rules:
                if rule.matches(environment, phase):
                    action = rule.action
            actions.append(action)
        return max(actions, key=lambda a: a.severity)


@dataclass
class CriteriaSet:
    criteria: list[Criterion] = field(default_factory=list)
    # Disabled by the environment: their tests feed nothing (and make no implicit criterion either).
    disabled: list[Criterion] = field(default_factory=list)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.criteria)

    def __len__(self) -> int:
        return len(self.criteria)

    def get(self, criterion_id: str) -> Criterion | None:
        return next((c for c in self.criteria if c.id == criterion_id), None)

    def feeding(self, criteria: Sequence[str], suites: Sequence[str]) -> tuple[list[Criterion], list[str]]:
        """The criteria a test with these markers feeds, and the names of the implicit ones it makes.

        An id no criteria file knows makes an implicit criterion of that id; a test that feeds no
        pass/fail criterion at all (measurement criteria only watch their producers) makes one named
        after its suite, or `unclassified`. So every test counts for something.
        """
        fed = [c for c in self.criteria if c.fed_by(criteria, suites)]
        claimed = any(not c.measurement for c in fed) or any(c.fed_by(criteria, suites) for c in self.disabled)
        known = {i for c in [*self.criteria, *self.disabled] for i in c.criteria_ids}
        implicit = [i for i in criteria if i not in known]
        if not claimed and not implicit:
            implicit = list(suites) or [UNCLASSIFIED]
        return fed, implicit


def implicit_criterion(name: str, phases: Iterable[Phase] = ()) -> Criterion:
    """A no_go criterion for tests whose criterion id (or suite) no criteria file names."""
    title = "Tests without a rollout marker" if name == UNCLASSIFIED else f"Tests of {name} (not in the criteria file)"
    ordered = tuple(sorted(set(phases), key=list(Phase).index))
    return Criterion(id=name, title=title, phases=ordered or tuple(Phase), implicit=True)


def base_specs(section: CriteriaSection, environment_file: Path | None) -> list[CriterionSpec]:
    """The criteria an environment starts from: its `criteria.file`, else the shipped defaults."""
    if not section.file:
        return default_specs()
    path = Path(section.file)
    if not path.is_absolute() and environment_file is not None:
        path = environment_file.parent / path
    return load_criteria_file(path)


def default_specs() -> list[CriterionSpec]:
    where = f"rollout_gate/criteria/{DEFAULTS_FILE}"
    data = resources.files("rollout_gate.criteria").joinpath(DEFAULTS_FILE).read_bytes()
    return _specs(parse_yaml(data, where), where)


def load_criteria_file(path: Path) -> list[CriterionSpec]:
    return _specs(read_yaml(path), str(path))


def _specs(document: YamlDocument, where: str) -> list[CriterionSpec]:
    try:
        return list(CriteriaFile.model_validate(document.data).criteria)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, where, document)) from None


def resolve(
    specs: Sequence[CriterionSpec],
    section: CriteriaSection,
    thresholds: BaseModel,
    *,
    where: str = "environment",
    extra: Sequence[CriterionSpec] = (),
) -> CriteriaSet:
    """Apply an environment's `criteria:` section (and criteria added by plugins) to the specs."""
    by_id: dict[str, CriterionSpec] = {s.id: s for s in specs}
    for spec in [*section.add, *extra]:
        if spec.id in by_id:
            raise ConfigError(f"{where}: criteria.add: criterion {spec.id} already exists (use criteria.override)")
        by_id[spec.id] = spec
    for key, ids in (("disable", section.disable), ("optional", section.optional), ("override", section.override)):
        for criterion_id in ids:
            if criterion_id not in by_id:
                raise ConfigError(f"{where}: criteria.{key}: unknown criterion {criterion_id}{_known(by_id)}")
    extra_rules: dict[str, list[Rule]] = {}
    for rule in section.rules:
        for criterion_id in rule.criteria:
            if criterion_id not in by_id:
                raise ConfigError(f"{where}: criteria.rules: unknown criterion {criterion_id}{_known(by_id)}")
            extra_rules.setdefault(criterion_id, []).append(
                Rule(environments=rule.environments, phases=rule.phases, action=rule.action)
            )
    resolved = CriteriaSet()
    for spec in by_id.values():
        override = section.override.get(spec.id)
        if override is not None:
            changes = override.model_dump(exclude_unset=True, exclude={"rules"})
            spec = spec.model_copy(update={**changes, "rules": (*spec.rules, *override.rules)})
        rules = (*spec.rules, *extra_rules.get(spec.id, ()))
        required = spec.required and spec.id not in section.optional
        criterion = _resolve_one(spec, rules, required, thresholds, where, override)
        (resolved.disabled if spec.id in section.disable else resolved.criteria).append(criterion)
    return resolved


def _resolve_one(
    spec: CriterionSpec,
    rules: tuple[Rule, ...],
    required: bool,
    thresholds: BaseModel,
    where: str,
    override: CriterionOverride | None = None,
) -> Criterion:
    op = limit = None
    if spec.threshold is not None:
        threshold = Threshold.model_validate(spec.threshold)
        op, limit = threshold.op, _number(threshold.value, thresholds, where, spec.id)
    samples = _number(spec.min_samples, thresholds, where, spec.id)
    if not samples.is_integer() or samples < 1:
        # With 0, a measurement taken from no samples at all would count.
        key = _key(spec.id, "min_samples", override)
        raise ConfigError(f"{where}: {key}: is {samples:g}; write a whole number of at least 1")
    criterion = Criterion(
        id=spec.id,
        title=spec.title,
        runbook=spec.runbook,
        phases=spec.phases,
        action=spec.action,
        rules=rules,
        criteria_ids=frozenset({spec.id, *spec.feeds.criteria}),
        suites=frozenset(spec.feeds.suites),
        not_criteria=frozenset(spec.feeds.not_criteria),
        measurement=spec.feeds.measurement,
        op=op,
        limit=limit,
        min_samples=int(samples),
        unit=spec.unit,
        flaky=spec.flaky,
        required=required,
    )
    _check_limit(criterion, override, where)
    return criterion


def _number(value: float | int | str, thresholds: BaseModel, where: str, criterion_id: str) -> float:
    if not isinstance(value, str):
        return float(value)
    match = THRESHOLD_REFERENCE.match(value)
    name = match.group(1) if match else value
    if not match or name not in type(thresholds).model_fields:
        known = ", ".join(type(thresholds).model_fields)
        raise ConfigError(f"{where}: criterion {criterion_id}: {value} is not a threshold (known: {known})")
    return float(getattr(thresholds, name))


def _key(criterion_id: str, name: str, override: CriterionOverride | None) -> str:
    """Where a criterion's field was set: the environment's override, else the criterion itself."""
    if override is not None and name in override.model_fields_set:
        return f"criteria.override.{criterion_id}.{name}"
    return f"criterion {criterion_id}: {name}"


def _check_limit(criterion: Criterion, override: CriterionOverride | None, where: str) -> None:
    """A limit outside what the measurement can be is a threshold that always or never holds."""
    bounds = measurement_range(criterion.measurement) if criterion.measurement else None
    if bounds is None or criterion.limit is None:
        return
    low, high = bounds
    if not low <= criterion.limit <= high:
        within = f"from {low:g} to {high:g}" if math.isfinite(high) else f"of {low:g} or more"
        raise ConfigError(
            f"{where}: {_key(criterion.id, 'threshold', override)}: '{criterion.threshold}' cannot hold for "
            f"{criterion.measurement}; write a limit {within}"
        )


def _known(by_id: dict[str, CriterionSpec]) -> str:
    return f" (known: {', '.join(sorted(by_id))})"
