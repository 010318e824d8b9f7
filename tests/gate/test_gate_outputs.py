"""What a rollout run writes: gate.json (against its JSON Schema), gate.md, Allure results; never a secret."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from gate_testing import SECRET, GateProject
from test_gate_statuses import rollout_tests

from rollout_gate.gate.files import schema


def allure_results(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*-result.json"))]


def labels(result: dict[str, Any], name: str) -> list[str]:
    return sorted(label["value"] for label in result["labels"] if label["name"] == name)


def test_gate_json_follows_its_schema(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(rollout_tests(isolation="assert False, 'leak'"))
    gate_project.run("--env=staging")
    gate = gate_project.gate()
    jsonschema.Draft202012Validator.check_schema(schema())
    jsonschema.validate(gate, schema())
    assert (gate["schema_version"], gate["kind"], gate["environment"]) == (3, "pytest", "staging")
    assert gate["status"] == "finished"
    assert gate["run_id"] and gate["started_at"].endswith("Z") and gate["finished_at"].endswith("Z")
    for c in gate["criteria"]:
        assert {"id", "title", "status", "action", "observed", "threshold", "samples", "tests", "reason"} <= set(c)
    assert {m["name"] for m in gate["measurements"]} == {"load.p95_ms", "load.error_rate"}


def test_schema_rejects_what_is_not_a_gate_file() -> None:
    validator = jsonschema.Draft202012Validator(schema())
    assert list(validator.iter_errors({"schema_version": 1, "kind": "pytest"}))  # no verdict, no criteria
    assert list(validator.iter_errors({"schema_version": 4, "kind": "measurements", "measurements": []}))
    bad_status = {"id": "x", "title": "x", "status": "ok", "action": "no_go", "required": True, "outcome": "pass"}
    bad_status |= {"observed": None, "threshold": "", "samples": None, "tests": [], "reason": ""}
    gate = {"schema_version": 1, "kind": "combined", "verdict": "GO", "exit_code": 0, "criteria": [bad_status]}
    gate |= {"reasons": [], "warnings": [], "harness_errors": []}
    assert [e.message for e in validator.iter_errors(gate)] == [
        "'ok' is not one of ['pass', 'warn', 'fail', 'inconclusive', 'error']"
    ]
    # A run that has not decided is never GO.
    running = {"schema_version": 2, "kind": "pytest", "status": "running", "verdict": "GO", "exit_code": 0}
    running |= {"criteria": [], "reasons": [], "warnings": [], "harness_errors": []}
    assert sorted(e.message for e in validator.iter_errors(running)) == [
        "'INCONCLUSIVE' was expected",
        "11 was expected",
    ]


def test_gate_md_is_written_and_appended_to_the_step_summary(
    gate_project: GateProject, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    summary = tmp_path / "step-summary.md"
    summary.write_text("# earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    gate_project.pytester.makepyfile(rollout_tests(error_rate=0.07, loss="assert False, 'lost 3 rows'"))
    gate_project.run("--env=staging")
    md = (gate_project.reports / "gate.md").read_text()
    assert md.startswith("# Rollout gate: ⛔ NO_GO\n")
    assert "## Why not GO" in md and "- zero_data_loss: fail (no_go): " in md
    assert "## Warnings" in md and "- load_error_rate_warn: warn: " in md
    assert "| ❌ fail | **zero_data_loss**<br>Zero data loss | no_go | 1 failed |" in md
    assert summary.read_text() == "# earlier step\n" + md + "\n"


def test_allure_results_carry_labels_criteria_categories_and_environment(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(rollout_tests(isolation="assert False, 'leak'"))
    gate_project.run("--env=staging")
    results_dir = gate_project.reports / "allure-results"
    results = allure_results(results_dir)
    by_name = {r["name"]: r for r in results}

    test = by_name["test_no_cross_tenant_rows"]
    assert labels(test, "epic") == ["post-migration"]
    assert labels(test, "feature") == ["isolation"]
    assert labels(test, "story") == ["zero_cross_tenant_access"]
    assert "staging" in labels(test, "tag")
    assert labels(by_name["test_rows_unchanged"], "story") == ["zero_data_loss"]

    # One Allure result per criterion, carrying the decision.
    criteria = {labels(r, "story")[0]: r for r in results if labels(r, "feature") == ["go/no-go gate"]}
    assert set(criteria) == {
        "smoke",
        "zero_data_loss",
        "zero_cross_tenant_access",
        "load_p95",
        "load_error_rate_warn",
        "load",
    }
    leak = criteria["zero_cross_tenant_access"]
    assert leak["status"] == "failed" and leak["statusDetails"]["message"].startswith("[NO-GO] fail: ")
    p95 = {p["name"]: p["value"] for p in criteria["load_p95"]["parameters"]}
    assert (p95["observed"], p95["threshold"], p95["samples"]) == ("180.0", "< 500 ms", "500")
    assert criteria["load_p95"]["status"] == "passed"

    categories = json.loads((results_dir / "categories.json").read_text())
    assert [c["name"] for c in categories] == ["Rollback triggers", "Go blockers", "Harness errors", "Warnings"]
    # Allure 3 reads categories from its config, written beside the results for `make report`.
    config = json.loads((gate_project.reports / "allurerc.json").read_text())
    assert config["categories"] == categories and config["name"] == "rollout gate: NO_GO (staging)"
    props = dict(line.split("=", 1) for line in (results_dir / "environment.properties").read_text().splitlines())
    assert props["environment"] == "staging"
    assert props["target"] == "http://127.0.0.1:9, postgresql://rg:***@127.0.0.1:9/app"
    assert props["run.id"] == gate_project.gate()["run_id"]
    assert props["verdict"] == "NO_GO"
    assert "git.commit" in props or "git.commit" not in props  # present only inside a git checkout


def test_allure_message_prefixes_sort_criteria_into_categories(gate_project: GateProject) -> None:
    gate_project.pytester.makeconftest(
        """
        import pytest
        from rollout_gate.pytest.stash import session_key

        @pytest.fixture(autouse=True)
        def _flaky_probe(pytestconfig):
            pytestconfig.stash[session_key].target_failed("probe pool exhausted")
        """
    )
    gate_project.pytester.makepyfile(
        rollout_tests(isolation="assert False, 'leak'", isolation_marks="@pytest.mark.phase('post-deploy')")
    )
    gate_project.run("--env=production", "--phase=post-deploy")
    messages = sorted(
        r["statusDetails"].get("message", "").split(" ")[0]
        for r in allure_results(gate_project.reports / "allure-results")
        if "go/no-go gate" in labels(r, "feature")
    )
    assert messages == ["", "[HARNESS]", "[ROLLBACK]"]  # smoke passes; isolation after a production deploy


def test_allure_results_start_empty_each_run(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(rollout_tests())
    gate_project.run("--env=staging")
    first = {p.name for p in (gate_project.reports / "allure-results").iterdir()}
    gate_project.run("--env=staging")
    second = {p.name for p in (gate_project.reports / "allure-results").iterdir()}
    assert not (first - {"categories.json", "environment.properties"}) & second


def test_explicit_alluredir_is_respected(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(rollout_tests())
    elsewhere = gate_project.pytester.path / "elsewhere"
    gate_project.run("--env=staging", f"--alluredir={elsewhere}")
    assert (elsewhere / "categories.json").is_file()
    assert not (gate_project.reports / "allure-results").exists()


def test_self_test_runs_write_no_reports(gate_project: GateProject) -> None:
    (gate_project.envs / "local.yaml").write_text("kind: remote\n")  # the default environment exists
    gate_project.pytester.makepyfile("def test_plain(): pass")
    assert gate_project.run().ret == 0
    assert not gate_project.reports.exists()


def test_no_secret_in_any_file_under_the_report_dir(gate_project: GateProject) -> None:
    gate_project.pytester.makeconftest(
        """
        import os
        import pytest
        from rollout_gate.pytest.stash import session_key

        @pytest.fixture(autouse=True)
        def _leaky(pytestconfig):
            dsn = os.environ["RG_GATE_DSN"]
            print(f"connecting to {dsn}")  # captured output becomes an Allure attachment
            pytestconfig.stash[session_key].target_failed(f"cannot connect to {dsn}")
        """
    )
    gate_project.pytester.makepyfile(
        rollout_tests(isolation="import os; assert False, 'leak seen via ' + os.environ['RG_GATE_DSN']")
    )
    result = gate_project.run("--env=staging", "-rA")
    # The proof is live: the DSN really went through the run, and the terminal shows it masked too.
    assert "connecting to ***" in result.stdout.str() and SECRET not in result.stdout.str()
    files = [p for p in gate_project.reports.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"gate.json", "gate.md", "categories.json", "environment.properties"}
    assert any(p.suffix == ".txt" for p in files)  # captured stdout attachments
    leaking = [str(p) for p in files if SECRET.encode() in p.read_bytes()]
    assert leaking == []
    # Masked as allure-pytest's results were written (rollout_gate.reporting.allure_writer).
    test = next(
        r for r in allure_results(gate_project.reports / "allure-results") if r["name"] == "test_no_cross_tenant_rows"
    )
    assert test["statusDetails"]["message"].startswith("AssertionError: leak seen via ***")
    assert gate_project.gate()["harness_errors"] == ["cannot connect to ***"]
