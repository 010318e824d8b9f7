"""Markers the plugin registers, and what they tell it about a test."""

from __future__ import annotations

import pytest

from rollout_gate.config import Environment
from rollout_gate.phases import MARKER_PHASE, Phase, parse_phase

MARKERS = {
    "predeploy": "pre-deploy checks: migration lint, rehearsal, backup, readiness",
    "smoke": "post-deploy smoke tests of the running application",
    "integrity": "data integrity: zero data loss, no orphans, every user has a workspace",
    "isolation": "tenant isolation: RLS coverage and cross-tenant probes",
    "e2e": "end-to-end browser flows (Playwright)",
    "load": "load tests (Locust) and their thresholds",
    "watch": "live metrics over the deploy window (Prometheus or scraped /metrics) against rollback triggers",
    "rollback": "post-rollback checks: v1 restored without data loss",
    "destructive": "writes to the target; never runs where the environment forbids writes",
    "criterion(id)": "the go/no-go criterion this test feeds",
    "phase(name)": "the rollout phase this test belongs to, when its suite marker does not say",
    "not_applicable(reason)": "the environment file says this check has nothing to check here (listed, never run)",
}


def register(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")


def suite_markers(item: pytest.Item) -> list[str]:
    return [m.name for m in item.iter_markers() if m.name in MARKER_PHASE]


def phase_of(item: pytest.Item) -> Phase | None:
    """The phase a test belongs to: an explicit `phase` marker, else its suite marker's phase."""
    explicit = item.get_closest_marker("phase")
    if explicit is not None:
        if len(explicit.args) != 1:
            raise pytest.UsageError(f"{item.nodeid}: phase() takes exactly one phase name")
        try:
            return parse_phase(str(explicit.args[0]))
        except ValueError as exc:
            raise pytest.UsageError(f"{item.nodeid}: {exc}") from None
    phases = {MARKER_PHASE[name] for name in suite_markers(item)}
    if len(phases) > 1:
        names = ", ".join(sorted(suite_markers(item)))
        raise pytest.UsageError(f"{item.nodeid}: markers {names} belong to different phases; add phase(name)")
    return phases.pop() if phases else None


def criteria_of(item: pytest.Item) -> list[str]:
    ids = []
    for mark in item.iter_markers("criterion"):
        if len(mark.args) != 1 or not isinstance(mark.args[0], str):
            raise pytest.UsageError(f"{item.nodeid}: criterion() takes exactly one criterion id")
        ids.append(mark.args[0])
    return ids


def excluded_by_environment(item: pytest.Item, env: Environment, enabled: set[Phase]) -> str | None:
    """Why the environment file keeps this test out of the run (never a guess: a phase it does not
    enable, a suite it turns off, writes it forbids, a `not_applicable` mark set from what it declares)."""
    phase = phase_of(item)
    if phase is not None and phase not in enabled:
        return f"phase {phase.value} not in this run"
    off = [s for s in suite_markers(item) if not getattr(env.suites, s)]
    if off:
        return f"suites.{off[0]}: false"
    if item.get_closest_marker("destructive") and not env.safety.allow_writes:
        return f"{env.name} forbids writes (safety.allow_writes: false); the check is destructive"
    mark = item.get_closest_marker("not_applicable")
    if mark is not None:
        return str(mark.args[0] if mark.args else mark.kwargs.get("reason", "not applicable here"))
    return None
