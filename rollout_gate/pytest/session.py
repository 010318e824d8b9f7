"""State of one harness run in one pytest process (kept in `config.stash`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rollout_gate.config import LoadedEnvironment
from rollout_gate.gate.outcomes import Outcomes
from rollout_gate.phases import Phase
from rollout_gate.run import RunContext
from rollout_gate.target import RemoteTarget, Target, TargetError

# The breaker key of a failure before any test ran (the header's role check): it holds for every phase.
EVERY_PHASE = "*"


@dataclass
class RolloutSession:
    loaded: LoadedEnvironment
    env_source: str
    phase: Phase | None
    phase_source: str
    run: RunContext
    report_dir: Path
    baseline_path: Path
    project_root: Path
    outcomes: Outcomes = field(default_factory=Outcomes)
    # Tests carrying a rollout marker, collected in this process (or, on the controller, by all workers).
    rollout_items: int = 0
    harness_errors: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    # Builds the target on first use (the plugin asks the `pytest_rollout_make_target` hook).
    make_target: Callable[[RolloutSession], Target] | None = None
    _target: Target | None = None
    _target_error: str | None = None
    # Phase -> the first database failure in it (cannot connect, server stopped answering): the circuit
    # breaker that makes the rest of that phase's database tests fail at once instead of one timeout each.
    _database_down: dict[str, str] = field(default_factory=dict)

    @property
    def explicit(self) -> bool:
        """True when the user named an environment, which makes this a rollout run even if nothing is collected."""
        return self.env_source != "default"

    @property
    def is_rollout_run(self) -> bool:
        return self.explicit or self.rollout_items > 0

    @property
    def enabled_phases(self) -> list[Phase]:
        enabled = set(self.loaded.env.phases.enabled)
        wanted = [self.phase] if self.phase else list(Phase)
        return [p for p in wanted if p in enabled]

    def target(self) -> Target:
        """The run's target, created on first use; a failure to create it is remembered and re-raised."""
        if self._target_error:
            raise TargetError(self._target_error)
        if self._target is None:
            try:
                self._target = self.make_target(self) if self.make_target else RemoteTarget(self.loaded)
            except TargetError as exc:
                self._target_error = str(exc)
                raise
        return self._target

    def target_failed(self, message: str) -> None:
        message = self.loaded.redact(message)
        if message not in self.harness_errors:
            self.harness_errors.append(message)

    def database_failed(self, phase: Phase | str | None, message: str) -> None:
        """Open the breaker for `phase` (the first failure is the one every later test names)."""
        message = self.loaded.redact(message)
        self._database_down.setdefault(str(phase), message)
        self.target_failed(message)

    def database_down(self, phase: Phase | None) -> str | None:
        """The failure that opened the breaker for `phase` (or for every phase: key "*"), if any."""
        return self._database_down.get(str(phase)) or self._database_down.get(EVERY_PHASE)

    def close_target(self) -> None:
        if self._target is not None:
            self._target.close()
