"""The documented GitHub Actions workflow: phases in rollout order, reports kept, baseline carried, gate decides."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "rollout-gate.yml"


def jobs() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return dict(data["jobs"])


def runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_phases_run_in_rollout_order() -> None:
    j = jobs()
    chain = ["pre-deploy", "migrate", "post-migration", "deploy", "post-deploy", "load"]
    for earlier, later in pairwise(chain):
        assert j[later]["needs"] == earlier
    assert set(j["gate"]["needs"]) == set(chain) and j["gate"]["if"] == "always()"
    assert j["production"]["needs"] == "gate" and "== 'GO'" in j["production"]["if"]
    assert "== 'ROLLBACK'" in j["rollback-staging"]["if"]


def test_every_phase_job_gates_its_phase_and_keeps_its_reports() -> None:
    j = jobs()
    for phase in ("pre-deploy", "post-migration", "post-deploy", "load"):
        assert f"pytest --phase={phase} " in runs(j[phase])
        assert f"--report-dir=reports/{phase}" in runs(j[phase])
        uploads = [s for s in j[phase]["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
        assert any(s["with"]["name"] == f"reports-{phase}" and s.get("if") == "always()" for s in uploads)


def test_baseline_is_carried_between_jobs() -> None:
    j = jobs()
    assert "--baseline=baseline/baseline.json" in runs(j["pre-deploy"])
    assert any(s.get("with", {}).get("name") == "baseline" for s in j["pre-deploy"]["steps"])
    for job in ("post-migration", "rollback-staging"):
        downloads = [s for s in j[job]["steps"] if s.get("uses", "").startswith("actions/download-artifact")]
        assert any(s["with"]["name"] == "baseline" for s in downloads)
        assert "--baseline=baseline/baseline.json" in runs(j[job])


def test_gate_job_combines_every_phase_into_one_verdict() -> None:
    gate = jobs()["gate"]
    assert "rollout-gate verdict $files" in runs(gate)
    assert "allure generate" in runs(gate)
    assert gate["outputs"]["verdict"] == "${{ steps.verdict.outputs.verdict }}"
