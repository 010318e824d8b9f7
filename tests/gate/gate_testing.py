"""Helpers for gate tests: a pytester project: remote environments (no PostgreSQL) and a small criteria file."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RolloutProject

SECRET = "Sup3r-Secret-Pw-4711"
SECRET_DSN = f"postgresql://rg:{SECRET}@127.0.0.1:9/app"

# A criteria file with one criterion per kind of feed, so each test controls what is required.
CRITERIA = """
version: 1
criteria:
  - id: smoke
    title: Smoke tests pass
    runbook: "[MDR] Automated Health Checks"
    phases: [post-deploy]
    feeds: {suites: [smoke]}
    flaky: warn
  - id: zero_data_loss
    title: Zero data loss
    runbook: "[MDR] Zero data loss"
    phases: [post-migration]
    rules:
      - environments: [production]
        action: rollback
  - id: zero_cross_tenant_access
    title: Zero cross-tenant access
    runbook: "[MRC] Zero RLS violations"
    phases: [post-migration, post-deploy]
    feeds: {suites: [isolation]}
    rules:
      - environments: [production]
        phases: [post-deploy]
        action: rollback
  - id: load_p95
    title: p95 below 500 ms
    runbook: "[MDR] API response times < 500ms (95th percentile)"
    phases: [load]
    feeds: {measurement: load.p95_ms, suites: [load]}
    threshold: "< thresholds.p95_ms"
    min_samples: thresholds.min_requests
    unit: ms
  - id: load_error_rate_warn
    title: Error rate at most 5%
    runbook: "[DPO] Application error rate > 5%"
    phases: [load]
    feeds: {measurement: load.error_rate, suites: [load]}
    threshold: "<= 0.05"
    action: warn
"""


class GateProject(RolloutProject):
    """RolloutProject plus environments that use a small criteria file and reference a secret DSN."""

    def __init__(self, pytester: pytest.Pytester) -> None:
        super().__init__(pytester)
        (self.envs / "criteria.yaml").write_text(textwrap.dedent(CRITERIA))
        self.gate_env("staging")
        self.gate_env("production", phases=["post-deploy", "post-rollback"])

    def gate_env(self, name: str, *, phases: list[str] | None = None, criteria: str = "", extra: str = "") -> Path:
        """An environment using criteria.yaml; `criteria` adds lines under its `criteria:` section."""
        lines = [
            f"name: {name}",
            "kind: remote",
            "target:",
            "  base_url: http://127.0.0.1:9",
            "  database_url: ${RG_GATE_DSN}",
            "  connect_timeout: 1",
            "thresholds:",
            "  min_requests: 100",
        ]
        if phases:
            lines += ["phases:", f"  enabled: [{', '.join(phases)}]"]
        lines += ["criteria:", "  file: criteria.yaml"]
        lines += ["  " + line for line in textwrap.dedent(criteria).strip().splitlines()]
        path = self.envs / f"{name}.yaml"
        path.write_text("\n".join(lines) + "\n" + textwrap.dedent(extra))
        return path

    def run(self, *args: str) -> pytest.RunResult:
        return self.pytester.runpytest(*args)

    def gate(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.reports / "gate.json").read_text())
        return data

    def criterion(self, criterion_id: str) -> dict[str, Any]:
        found = [c for c in self.gate()["criteria"] if c["id"] == criterion_id]
        assert found, f"no criterion {criterion_id} in gate.json: {[c['id'] for c in self.gate()['criteria']]}"
        return found[0]

    def statuses(self) -> dict[str, str]:
        return {c["id"]: c["status"] for c in self.gate()["criteria"]}
