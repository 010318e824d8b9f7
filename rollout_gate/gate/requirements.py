"""What an environment requires of a verdict over gate files: the phases it is over and the criteria it judges."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rollout_gate.config import ConfigError, LoadedEnvironment
from rollout_gate.criteria.resolve import CriteriaSet, base_specs, resolve
from rollout_gate.gate.evaluate import RunScope
from rollout_gate.invariants_http.criteria import criterion_specs
from rollout_gate.phases import Phase

# Verifies a rollback, so it runs only after one (the CI workflow's rollback job): a promotion verdict does
# not wait for it, but judges it as soon as its gate file is given or `--phase post-rollback` asks for it.
AFTER_ROLLBACK = Phase.POST_ROLLBACK


@dataclass(frozen=True)
class Requirements:
    environment: str
    environment_file: str
    criteria: CriteriaSet
    # The environment's `phases.enabled`, in rollout order, and the one phase `--phase` asked for.
    enabled: tuple[Phase, ...]
    asked: Phase | None = None
    disabled_suites: frozenset[str] = frozenset()

    def phases(self, given: Iterable[Phase]) -> tuple[Phase, ...]:
        """The phases this verdict is over: `--phase`, else every enabled phase (post-rollback only when given)."""
        if self.asked is not None:
            return (self.asked,)
        given = set(given)
        return tuple(p for p in self.enabled if p != AFTER_ROLLBACK or p in given)

    def scope(self, phases: Iterable[Phase]) -> RunScope:
        ordered = tuple(sorted(set(phases), key=lambda p: p.order))
        return RunScope(environment=self.environment, phases=ordered, disabled_suites=self.disabled_suites)


def requirements(loaded: LoadedEnvironment, phase: Phase | None = None) -> Requirements:
    """The environment's requirements, its criteria resolved as the pytest plugin resolves them."""
    env = loaded.env
    where = str(loaded.path)
    if phase is not None and phase not in env.phases.enabled:
        raise ConfigError(f"{where}: phases.enabled: phase {phase} is not enabled for this environment")
    # As the plugin adds them: the criteria invariants.http declares (rollout_gate/pytest/invariants.py).
    specs = base_specs(env.criteria, loaded.path)
    criteria = resolve(specs, env.criteria, env.thresholds, where=where, extra=criterion_specs(env))
    return Requirements(
        environment=env.name,
        environment_file=where,
        criteria=criteria,
        enabled=tuple(sorted(env.phases.enabled, key=lambda p: p.order)),
        asked=phase,
        disabled_suites=frozenset(name for name, on in env.suites.model_dump().items() if not on),
    )
