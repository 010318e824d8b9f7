"""`environments/examples/http-only.yaml` (no database URL, `target.database: none`) against `rollout-gate local up`:
GO for smoke, isolation and E2E with every database criterion listed as not applicable and nothing inconclusive;
the same file for a foreign app (no `target.app`) is GO with the reference app's own tests not applicable;
`invariants.http` over the reference app's /admin/stats is GO clean and NO_GO naming the expression when the
counts disagree (`ROLLOUT_APP_FAULTS=stats_disagree`). Sign-in is Supabase-shaped (apikey), the declared
resources and role rules use users of two organizations from a CSV, and the declared routes are checked in a
browser: with skip_project_authz, viewer_can_write and dashboard_broken each of those checks is NO_GO."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.cli.test_local_up import CHECKS_TIMEOUT_S, LocalUpProcess, _clean_env, up_dir  # noqa: F401
from tests.rehearsal import ROOT
from tests.resources.local_up_declared import prepare_tenants

EXAMPLE = ROOT / "environments" / "examples" / "http-only.yaml"
TOKEN = "rg-httponly-stats-7731"
# Criteria that read the target database (they must all be listed as not applicable, never run).
DATABASE_CRITERIA = {"zero_data_loss", "data_integrity", "rls_coverage", "every_user_has_workspace", "db_role_rules",
                     "no_orphans", "isolation_probe_coverage", "target_role_least_privilege"}  # fmt: skip


def _run(project: Path, env_file: Path, variables: dict[str, str], reports: Path, *args: str) -> tuple[dict, str]:
    project.mkdir(parents=True, exist_ok=True)
    (project / "conftest.py").write_text('pytest_plugins = ["rollout_gate.pytest.checks"]\n')
    argv = [sys.executable, "-m", "pytest", f"--env={env_file}", f"--report-dir={reports}", "-p", "no:cacheprovider",
            "-q", *args]  # fmt: skip
    # No ROLLOUT_LOCAL_DATABASE_URL in the checks' environment: nothing could reach the database.
    given = {k: v for k, v in variables.items() if k != "ROLLOUT_LOCAL_DATABASE_URL"}
    tenant_users = project.parent / "tenant-users.csv"
    if not tenant_users.exists():  # organizations A (owner, viewer) and B (owner), as a team's CSV gives them
        prepare_tenants(variables, tenant_users)
    given["HTTP_ONLY_TENANT_USERS_CSV"] = str(tenant_users)
    result = subprocess.run(argv, cwd=project, env=_clean_env(**given, HTTP_ONLY_STATS_TOKEN=TOKEN),
                            capture_output=True, text=True, timeout=CHECKS_TIMEOUT_S, check=False)  # fmt: skip
    return json.loads((reports / "gate.json").read_text()), (result.stdout + result.stderr)[-5000:]


def _by_id(gate: dict) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in gate["criteria"]}


def _not_applicable(c: dict[str, Any]) -> bool:
    return (c.get("reason") or "").startswith("not applicable here")


def test_http_only_example_is_go_with_database_criteria_not_applicable(up_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    up = LocalUpProcess(up_dir, env={"ROLLOUT_APP_STATS_TOKEN": TOKEN})
    try:
        variables = up.read_variables()
        gate, output = _run(tmp_path / "p", EXAMPLE, variables, tmp_path / "r1", "-m", "smoke or isolation or e2e")
        assert gate["verdict"] == "GO", output
        criteria = _by_id(gate)
        for cid in DATABASE_CRITERIA:
            assert _not_applicable(criteria[cid]) and "target.database: none" in criteria[cid]["reason"], criteria[cid]
        for cid in ("smoke", "zero_cross_tenant_access", "role_rules", "e2e_critical_flows", "page_load_time",
                    "browser_errors"):  # fmt: skip
            assert criteria[cid]["status"] == "pass", criteria[cid]
        declared = [t for t in criteria["zero_cross_tenant_access"]["tests"] if "test_declared_resource" in t]
        assert any("[projects-read]" in t for t in declared) and any("[clients-header_spoof]" in t for t in declared)
        required_inconclusive = [c["id"] for c in gate["criteria"] if c["status"] == "inconclusive" and c["required"]]
        assert not required_inconclusive, output
        gate_md = (tmp_path / "r1" / "gate.md").read_text()
        assert "target.database: none" in gate_md

        # The same file for an app that is not the reference app: our paths are not applicable, its own run.
        foreign = tmp_path / "environments" / "foreign.yaml"
        foreign.parent.mkdir()
        foreign.write_text(EXAMPLE.read_text().replace("  app: reference\n", ""))
        gate, output = _run(tmp_path / "p", foreign, variables, tmp_path / "r2", "-m", "smoke or isolation or e2e")
        assert gate["verdict"] == "GO", output
        criteria = _by_id(gate)
        assert criteria["smoke"]["status"] == "pass", criteria["smoke"]  # the declared smoke.endpoints
        assert "target.app is not reference" in criteria["smoke"]["observed"], criteria["smoke"]
        # The declared resources and role rules, and the declared routes, are the app's own: they run and pass.
        for cid in ("zero_cross_tenant_access", "role_rules", "browser_errors", "page_load_time"):
            assert criteria[cid]["status"] == "pass", criteria[cid]
        assert "target.app is not reference" in criteria["role_rules"]["observed"], criteria["role_rules"]
        flows = criteria["e2e_critical_flows"]
        assert _not_applicable(flows) and "not reference" in flows["reason"], flows
        assert not [c["id"] for c in gate["criteria"] if c["status"] == "inconclusive" and c["required"]], output

        # invariants.http over /admin/stats: every check holds on the clean reference app.
        gate, output = _run(tmp_path / "p", EXAMPLE, variables, tmp_path / "r3", "--phase=post-deploy",
                            "-k", "http_invariant")  # fmt: skip
        criteria = _by_id(gate)
        for cid in ("http_invariant_workspaces", "http_invariant_memberships"):
            assert criteria[cid]["status"] == "pass", output
    finally:
        assert up.terminate() == 0
        up.kill_leftovers()


def test_http_invariant_whose_counts_disagree_is_no_go_naming_the_expression(up_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    up = LocalUpProcess(up_dir, env={"ROLLOUT_APP_STATS_TOKEN": TOKEN, "ROLLOUT_APP_FAULTS": "stats_disagree"})
    try:
        variables = up.read_variables()
        gate, output = _run(tmp_path / "p", EXAMPLE, variables, tmp_path / "r", "--phase=post-deploy",
                            "-k", "http_invariant")  # fmt: skip
        assert gate["verdict"] == "NO_GO", output
        failed = _by_id(gate)["http_invariant_workspaces"]
        assert failed["status"] == "fail", failed
        assert "personal_workspaces == users is false" in failed["reason"], failed
        assert _by_id(gate)["http_invariant_memberships"]["status"] == "pass", output

        # A wrong token is no evidence: INCONCLUSIVE, never GO.
        wrong = tmp_path / "environments" / "wrong.yaml"
        wrong.parent.mkdir()
        wrong.write_text(EXAMPLE.read_text().replace("${HTTP_ONLY_STATS_TOKEN}", "not-the-token"))
        gate, output = _run(tmp_path / "p", wrong, variables, tmp_path / "r2", "--phase=post-deploy",
                            "-k", "http_invariant")  # fmt: skip
        assert gate["verdict"] == "INCONCLUSIVE", output
        assert "-> 401" in _by_id(gate)["http_invariant_memberships"]["reason"], output
    finally:
        assert up.terminate() == 0
        up.kill_leftovers()


def test_declared_checks_of_the_http_only_example_catch_the_app_faults(up_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    """One local up with three faults; each declared check fails on its own fault, naming what it saw."""
    faults = "skip_project_authz,viewer_can_write,dashboard_broken"
    up = LocalUpProcess(up_dir, env={"ROLLOUT_APP_STATS_TOKEN": TOKEN, "ROLLOUT_APP_FAULTS": faults})
    try:
        variables = up.read_variables()
        gate, output = _run(tmp_path / "p", EXAMPLE, variables, tmp_path / "r", "-m", "isolation or e2e",
                            "-k", "declared or route", "-rf")  # fmt: skip
        assert gate["verdict"] == "NO_GO", output
        criteria = _by_id(gate)
        failed = [line for line in output.splitlines() if line.startswith("FAILED")]
        # skip_project_authz: B reads A's project (the admin client bypasses RLS); clients hold.
        assert criteria["zero_cross_tenant_access"]["status"] == "fail", criteria["zero_cross_tenant_access"]
        assert any("[projects-read]" in f for f in failed) and not any("[clients-" in f for f in failed), failed
        # viewer_can_write: the viewer's write answers 500 (RLS refuses it), not the declared 403.
        assert criteria["role_rules"]["status"] == "fail", criteria["role_rules"]
        assert "role rule viewer POST /api/organizations/{tenant}/projects: answered 500, expected 403" in output
        # dashboard_broken: the dashboard route answers 500 in the browser.
        assert criteria["browser_errors"]["status"] == "fail", criteria["browser_errors"]
        assert any("test_route_browser_errors[dashboard]" in f for f in failed), failed
        assert not any("[sign-in]" in f for f in failed), failed
    finally:
        assert up.terminate() == 0
        up.kill_leftovers()
