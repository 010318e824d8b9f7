"""Findings say what and where: a failing or review criterion's entry in gate.json and gate.md names its tables,
policies, functions, roles and row keys (keys only, never row data), through the secret redaction, and the
verdict does not depend on them."""

from __future__ import annotations

import json

import jsonschema
import pytest
from gate_testing import SECRET, GateProject
from test_gate_statuses import rollout_tests

from rollout_gate.criteria.models import Action
from rollout_gate.gate import findings
from rollout_gate.gate.files import schema
from rollout_gate.gate.verdict import CriterionResult, Status

# An isolation check that found a leak: a real ProbeResult whose detail quotes a row's data, plus one
# that carries primary-key values (`keys`, which the probes add) and one more rule from the catalog.
LEAK = """
    from dataclasses import dataclass
    from rollout_gate.gate import findings
    from rollout_gate.isolation.results import ProbeResult

    @dataclass(frozen=True)
    class Keyed(ProbeResult):
        keys: tuple = ()

    policies = "clients_read_all (SELECT to authenticated USING true); clients_select_members (SELECT to x)"
    leaks = [
        ProbeResult("select", "public.clients", "member of tenant 7 (user 3, owner)", "9", "leak",
                    "saw 2 row(s): name='ROWDATA Acme Ltd'", policies),
        Keyed("select", "public.projects", "member of tenant 7 (user 3, owner)", "9", "leak",
              "saw 1 row(s): budget=ROWDATA-4711", "", keys=("id=41", "id=42")),
    ]
    found = findings.probe_findings(leaks)
    found.append(findings.Finding("function", "public.project_count(org uuid)", "anon_definer_function",
                                  "executable by anon, reads as {secret}"))
    findings.record(request, found)
    assert False, "2 cross-tenant leak(s)"
"""


def leaking_tests() -> str:
    body = "\n    ".join(line.removeprefix("    ") for line in LEAK.strip().splitlines()).format(secret=SECRET)
    return rollout_tests(isolation=body).replace(
        "def test_no_cross_tenant_rows():", "def test_no_cross_tenant_rows(request):"
    )


def test_a_failing_criterion_names_its_tables_policies_functions_roles_and_row_keys(
    gate_project: GateProject,
) -> None:
    gate_project.pytester.makepyfile(leaking_tests())
    gate_project.run("--env=staging")
    gate = gate_project.gate()
    jsonschema.validate(gate, schema())
    assert gate["schema_version"] == 3
    entry = gate_project.criterion("zero_cross_tenant_access")
    assert entry["status"] == "fail"
    named = {(f["kind"], f["name"]) for f in entry["findings"]}
    assert {
        ("table", "public.clients"),
        ("table", "public.projects"),
        ("policy", "clients_read_all"),
        ("policy", "clients_select_members"),
        ("role", "member of tenant 7 (user 3, owner)"),
        ("row_key", "public.projects: id=41"),
        ("row_key", "public.projects: id=42"),
        ("function", "public.project_count(org uuid)"),
    } == named
    assert {f["rule"] for f in entry["findings"]} == {"probe_select", "anon_definer_function"}
    assert all(not c["findings"] for c in gate["criteria"] if c["id"] != "zero_cross_tenant_access")
    md = (gate_project.reports / "gate.md").read_text()
    findings_md = md[md.index("## Findings") :]
    assert "- **zero_cross_tenant_access** (fail)" in findings_md
    line = "`probe_select` table `public.projects`, role `member of tenant 7 (user 3, owner)`, row key "
    assert line + "`public.projects: id=41`, row key `public.projects: id=42`: public.projects: SELECT as" in md
    assert "policy `clients_read_all`" in findings_md


def test_row_data_and_secrets_never_reach_the_gate_files(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(leaking_tests())
    gate_project.run("--env=staging")
    for name in ("gate.json", "gate.md"):
        text = (gate_project.reports / name).read_text()
        assert "ROWDATA" not in text, name  # the probes' details quote rows: only keys are findings
        assert SECRET not in text, name  # findings pass through the same redaction as every other line
    detail = next(f["detail"] for f in gate_project.criterion("zero_cross_tenant_access")["findings"])
    assert detail == "public.clients: SELECT as member of tenant 7 (user 3, owner) against tenant 9: leak"


def test_findings_do_not_change_the_verdict(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(leaking_tests())
    with_findings = gate_project.run("--env=staging").ret, gate_project.gate()
    gate_project.pytester.makepyfile(rollout_tests(isolation="assert False, '2 cross-tenant leak(s)'"))
    without = gate_project.run("--env=staging").ret, gate_project.gate()
    assert with_findings[0] == without[0] == 1
    for key in ("verdict", "exit_code", "reasons", "warnings"):
        assert with_findings[1][key] == without[1][key], key
    strip = ("findings", "findings_omitted", "tests")
    assert [{k: v for k, v in c.items() if k not in strip} for c in with_findings[1]["criteria"]] == [
        {k: v for k, v in c.items() if k not in strip} for c in without[1]["criteria"]
    ]


def test_a_passing_check_that_records_nothing_adds_no_findings(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(rollout_tests())
    gate_project.run("--env=staging")
    assert all(c["findings"] == [] and c["findings_omitted"] == 0 for c in gate_project.gate()["criteria"])
    assert "## Findings" not in (gate_project.reports / "gate.md").read_text()


def test_gate_json_keeps_the_first_findings_and_counts_the_rest(gate_project: GateProject) -> None:
    body = (
        "from rollout_gate.gate import findings\n"
        "    findings.record(request, [findings.Finding('row_key', f'public.clients: id={i}', 'probe_select')"
        " for i in range(250)])\n"
        "    assert False, '250 leaks'"
    )
    tests = rollout_tests(isolation=body).replace(
        "def test_no_cross_tenant_rows():", "def test_no_cross_tenant_rows(request):"
    )
    gate_project.pytester.makepyfile(tests)
    gate_project.run("--env=staging")
    entry = gate_project.criterion("zero_cross_tenant_access")
    assert len(entry["findings"]) == findings.MAX_PER_CRITERION == 200 and entry["findings_omitted"] == 50
    assert entry["findings"][0]["name"] == "public.clients: id=0"
    md = (gate_project.reports / "gate.md").read_text()
    assert "… and 50 more than gate.json keeps" in md


def test_findings_survive_a_gate_file_round_trip() -> None:
    kept = [findings.Finding("row_key", f"public.clients: id={i}", "probe_select") for i in range(3)]
    result = CriterionResult("c", "C", Status.FAIL, Action.NO_GO, findings=kept, findings_omitted=5)
    again = CriterionResult.from_json(json.loads(json.dumps(result.to_json())))
    assert (again.findings, again.findings_omitted) == (kept, 5)


def test_a_finding_needs_a_known_kind_and_a_name() -> None:
    with pytest.raises(ValueError, match="not one of table, view, policy, function, role, row_key"):
        findings.Finding("row", "public.clients: id=1")
    with pytest.raises(ValueError, match="needs a name"):
        findings.Finding("table", "")


def test_policy_names_come_from_described_policies_with_spaces_and_restrictive() -> None:
    described = (
        "Members read (SELECT to authenticated USING is_member(org)); "
        "deny_suspended (ALL RESTRICTIVE to public USING active)"
    )
    assert findings.policy_names(described) == ["Members read", "deny_suspended"]
    assert findings.policy_names("no SELECT policy for authenticated on public.clients") == []


def test_a_spoof_finding_names_the_forged_column() -> None:
    from rollout_gate.isolation.results import ProbeResult

    spoof = ProbeResult(
        "spoof_insert", "public.accounts", "member of tenant 7 (user 3, owner)", None, "leak",
        "wrote a row with primary_owner_user_id = another user (9)", "accounts_insert (INSERT to authenticated)",
        ("id=5",), "primary_owner_user_id",
    )  # fmt: skip
    found = findings.probe_findings([spoof])
    assert {f.detail for f in found} == {
        "public.accounts: SPOOF_INSERT of primary_owner_user_id as member of tenant 7 (user 3, owner): leak"
    }
    assert ("policy", "accounts_insert") in {(f.kind, f.name) for f in found}
