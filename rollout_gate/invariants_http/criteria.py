"""The criteria `invariants.http` declares: one per check, judged after the deploy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rollout_gate.criteria.models import CriterionSpec

if TYPE_CHECKING:
    from rollout_gate.config.models import Environment

PHASE = "post-deploy"


def criterion_specs(env: Environment) -> list[CriterionSpec]:
    return [
        CriterionSpec.model_validate(
            {
                "id": check.id,
                "title": check.title or f"Migration invariant over HTTP: {check.expr}",
                "runbook": f"invariants.http: {endpoint.method} {endpoint.path}",
                "phases": [PHASE],
                "action": check.action,
            }
        )
        for endpoint in env.invariants.http
        for check in endpoint.checks
    ]
