"""What the environment file declares decides what is not applicable (rollout_gate/pytest/applicability.py):
`target.database: none` and `target.app`. A missing DSN without `database: none` stays an error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rollout_gate.config import ConfigError, Environment, load_environment
from rollout_gate.criteria.resolve import CriteriaSet, Criterion
from rollout_gate.gate.collection import BY_ENVIRONMENT, CollectedTest, Ledger
from rollout_gate.gate.evaluate import RunScope, evaluate
from rollout_gate.gate.verdict import Status
from rollout_gate.phases import Phase
from rollout_gate.pytest.applicability import NO_DATABASE, NOT_REFERENCE, reason_for
from tests.conftest import RolloutProject


def _env(**target: object) -> Environment:
    return Environment.model_validate({"name": "t", "kind": "remote", "target": {"base_url": "http://x", **target}})


def test_database_none_marks_every_test_reaching_the_database_and_only_those() -> None:
    env = _env(database="none", app="reference")
    assert (
        reason_for(env, "data_integrity/test_no_data_lost.py", "t", ["rollout_db", "rollout_target_dsn"]) == NO_DATABASE
    )
    assert reason_for(env, "predeploy/test_baseline.py", "t", ["rollout_baseline"]) == NO_DATABASE
    # A team's own database test needs a database like ours.
    assert reason_for(env, None, "test_team", ["rollout_target_dsn"]) == NO_DATABASE
    assert reason_for(env, "smoke/test_smoke.py", "test_health", ["rollout_api"]) is None
    assert reason_for(_env(app="reference"), "data_integrity/x.py", "t", ["rollout_target_dsn"]) is None


def test_the_reference_apps_own_tests_apply_only_where_the_file_says_it_is_the_reference_app() -> None:
    foreign, reference = _env(), _env(app="reference")
    # (The reference app's E2E flows come through the pytest_rollout_e2e_flows hook, registered only for it:
    # tests/routes/test_routes_any_app.py proves another app without flows gets them not applicable.)
    for module in ("smoke/test_smoke.py", "tenant_isolation/api/test_role_rules.py"):
        assert reason_for(foreign, module, "t", []) == NOT_REFERENCE
        assert reason_for(reference, module, "t", []) is None
    # The API isolation probes of the reference app's endpoints, unless the file declares the app's own.
    api = "tenant_isolation/api/test_cross_tenant_api.py"
    assert (reason_for(foreign, api, "t", []) or "").startswith(NOT_REFERENCE)
    declared = Environment.model_validate(
        {"name": "t", "target": {"base_url": "http://x"}, "api": {"tenant_endpoints": [{"path": "/api/things"}]}}
    )
    assert reason_for(declared, api, "t", []) is None
    # Declared smoke endpoints are any app's.
    assert reason_for(foreign, "smoke/test_declared_endpoints.py", "test_declared_endpoint", ["rollout_api"]) is None
    # The local rehearsal deploys the reference app.
    local = Environment.model_validate({"name": "local", "kind": "local"})
    assert reason_for(local, "smoke/test_smoke.py", "t", []) is None


def test_the_former_conftest_rules_still_apply_from_the_one_place() -> None:
    env = Environment.model_validate(
        {"name": "t", "target": {"app": "reference"}, "tenancy": {"personal_workspace": "none",
         "impersonation": {"anon_role": None}}}
    )  # fmt: skip
    workspace = reason_for(env, "data_integrity/test_personal_workspace.py",
                           "test_calling_it_twice_leaves_exactly_one_workspace", [])  # fmt: skip
    assert workspace is not None and "personal_workspace: none" in workspace
    anon = reason_for(
        env, "tenant_isolation/test_cross_tenant_probes.py", "test_anonymous_role_reaches_no_tenant_row", []
    )
    assert anon is not None and "anon_role: null" in anon
    sampled = reason_for(
        env, "data_integrity/test_no_data_lost.py", "test_sampled_tables_are_unchanged_in_their_sample", []
    )
    assert sampled is not None and "integrity.sampling" in sampled


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ({"database": "none", "database_url": "postgresql://u:p@h/db"}, "database: none, but database_url is set"),
        ({"database": "none", "admin_database_url": "postgresql://u:p@h/db"}, "admin_database_url is set"),
        ({"database": "sqlite"}, "database"),
        ({"app": "other"}, "app"),
    ],
)
def test_contradictions_are_one_line_config_errors(tmp_path: Path, target: dict, error: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(json.dumps({"kind": "remote", "target": target}))
    with pytest.raises(ConfigError, match=error):
        load_environment(path, environ={})


def test_database_none_is_refused_for_the_local_rehearsal(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(json.dumps({"kind": "local", "target": {"database": "none"}}))
    with pytest.raises(ConfigError, match="kind local is the embedded PostgreSQL"):
        load_environment(path, environ={})


def _criterion(cid: str) -> Criterion:
    return Criterion(id=cid, title=cid, phases=(Phase.POST_MIGRATION,), criteria_ids=frozenset({cid}))


def test_a_criterion_whose_every_test_is_not_applicable_is_listed_as_such_one_with_no_test_stays_inconclusive() -> None:
    ledger = Ledger(tests={
        "a.py::t": CollectedTest("a.py::t", "post-migration", ["zero_data_loss"], [], deselected_by=BY_ENVIRONMENT,
                                 excluded_why=NO_DATABASE),
    })  # fmt: skip
    criteria = CriteriaSet([_criterion("zero_data_loss"), _criterion("no_orphans")])
    results = {r.id: r for r in evaluate(criteria, RunScope("t", (Phase.POST_MIGRATION,)), ledger=ledger)}
    assert results["zero_data_loss"].reason.endswith(NO_DATABASE) and not results["zero_data_loss"].required
    assert results["no_orphans"].status == Status.INCONCLUSIVE and results["no_orphans"].required


NO_DSN_TEST = """
import pytest

pytestmark = [pytest.mark.integrity, pytest.mark.criterion("team_rows")]


def test_rows(rollout_db):
    assert rollout_db.execute("select 1").fetchone() == (1,)
"""


def test_a_missing_database_url_without_database_none_is_not_go_in_one_line(rollout_project: RolloutProject) -> None:
    rollout_project.env("staging", "name: staging\nkind: remote\ntarget:\n  base_url: http://127.0.0.1:9\n")
    rollout_project.pytester.makepyfile(test_team=NO_DSN_TEST)
    result = rollout_project.pytester.runpytest("--env=staging", "--phase=post-migration")
    gate = json.loads((rollout_project.reports / "gate.json").read_text())
    assert gate["verdict"] not in ("GO",), gate["verdict"]
    assert "target.database_url is not set" in result.stdout.str()
    assert "Traceback" not in result.stdout.str()


def test_the_same_database_test_is_not_applicable_where_the_file_says_database_none(
    rollout_project: RolloutProject,
) -> None:
    rollout_project.env("staging", "name: staging\nkind: remote\ntarget:\n  base_url: http://127.0.0.1:9\n"
                        "  database: none\n")  # fmt: skip
    rollout_project.pytester.makepyfile(test_team=NO_DSN_TEST)
    rollout_project.pytester.runpytest("--env=staging", "--phase=post-migration")
    gate = json.loads((rollout_project.reports / "gate.json").read_text())
    team = next(c for c in gate["criteria"] if c["id"] == "team_rows")
    assert "target.database: none" in (team.get("reason") or ""), team
    assert team["status"] != "pass"


def test_each_declared_check_is_its_own_criterion_for_the_plugin_and_for_rollout_gate_verdict(tmp_path: Path) -> None:
    from rollout_gate.gate.requirements import requirements

    path = tmp_path / "t.yaml"
    checks = [{"id": "http_invariant_workspaces", "expr": "organizations == users"},
              {"id": "http_invariant_members", "expr": "memberships >= organizations", "action": "warn"}]  # fmt: skip
    path.write_text(json.dumps({"kind": "remote", "target": {"database": "none"},
                                "invariants": {"http": [{"path": "/stats", "checks": checks}]}}))  # fmt: skip
    criteria = requirements(load_environment(path, environ={})).criteria
    workspaces, members = criteria.get("http_invariant_workspaces"), criteria.get("http_invariant_members")
    assert workspaces is not None and workspaces.action == "no_go" and workspaces.phases == (Phase.POST_DEPLOY,)
    assert members is not None and members.action == "warn"


@pytest.mark.parametrize(
    ("endpoint", "error"),
    [
        ({"path": "/stats", "auth": "bearer", "checks": [{"id": "a", "expr": "x == y"}]}, "auth: bearer needs token"),
        ({"path": "/stats", "checks": [{"id": "a", "expr": "x = y"}]}, "checks.0.expr: .x = y.: cannot read"),
        ({"path": "/stats", "checks": [{"id": "a", "expr": "x == y"}, {"id": "a", "expr": "y == x"}]}, "used twice"),
        ({"path": "/stats", "checks": []}, "checks"),
    ],
)
def test_a_wrong_invariants_block_is_a_config_error_naming_it(tmp_path: Path, endpoint: dict, error: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(json.dumps({"kind": "remote", "invariants": {"http": [endpoint]}}))
    with pytest.raises(ConfigError, match=error):
        load_environment(path, environ={})
