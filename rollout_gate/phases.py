"""Rollout phases, their order, and which suite markers belong to which phase."""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    PRE_DEPLOY = "pre-deploy"
    POST_MIGRATION = "post-migration"
    POST_DEPLOY = "post-deploy"
    LOAD = "load"
    # Live metrics over the deploy window; read-only against the target (allowed where load is not).
    WATCH = "watch"
    POST_ROLLBACK = "post-rollback"

    @property
    def order(self) -> int:
        return list(Phase).index(self)


# A test's phase comes from its suite marker; an explicit `phase(name)` marker wins.
MARKER_PHASE: dict[str, Phase] = {
    "predeploy": Phase.PRE_DEPLOY,
    "integrity": Phase.POST_MIGRATION,
    "isolation": Phase.POST_MIGRATION,
    "smoke": Phase.POST_DEPLOY,
    "e2e": Phase.POST_DEPLOY,
    "load": Phase.LOAD,
    "watch": Phase.WATCH,
    "rollback": Phase.POST_ROLLBACK,
}


def parse_phase(value: str) -> Phase:
    try:
        return Phase(value)
    except ValueError:
        choices = ", ".join(p.value for p in Phase)
        raise ValueError(f"unknown phase {value!r} (choose from {choices})") from None
