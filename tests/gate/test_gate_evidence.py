"""A verdict needs evidence: no criterion evaluated, or a blocking criterion with feeders that did not run, is never GO.

One rule for partial evidence: a criterion passes only when every test feeding it in the selected phases ran
and passed. Feeders the user left out (-m, -k, --deselect, --lf, node ids) or that skipped make it
inconclusive and are named; criteria whose feeders were all left out are not required.
"""

from __future__ import annotations

import pytest
from gate_testing import GateProject

EXIT_GO, EXIT_NO_GO, EXIT_INCONCLUSIVE = 0, 1, 11

# Two feeders of the blocking isolation criterion (one fails), one smoke test, one integrity test.
TESTS = """
import pytest

@pytest.mark.smoke
def test_health():
    pass

@pytest.mark.integrity
@pytest.mark.criterion("zero_data_loss")
def test_rows_unchanged():
    pass

@pytest.mark.isolation
def test_members_see_only_their_rows():
    pass

@pytest.mark.isolation
def test_api_refuses_other_tenants_projects():
    {body}
"""
FAILING = "assert False, 'member of A read project of B'"
LEAK = "test_feeders.py::test_api_refuses_other_tenants_projects"


def feeders(gate_project: GateProject, body: str = "pass") -> None:
    gate_project.pytester.makepyfile(test_feeders=TESTS.format(body=body))


def test_tests_that_feed_no_criterion_are_inconclusive(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(
        "import pytest\n\n@pytest.mark.parametrize('n', range(50))\ndef test_plain(n):\n    assert n >= 0\n"
    )
    result = gate_project.run("--env=staging")
    result.assert_outcomes(passed=50)
    assert result.ret == EXIT_INCONCLUSIVE
    gate = gate_project.gate()
    assert gate["verdict"] == "INCONCLUSIVE"
    assert "no rollout criterion was evaluated: nothing was verified against the criteria" in gate["reasons"]
    result.stdout.fnmatch_lines(["*no rollout criterion was evaluated*", "verdict: INCONCLUSIVE (exit 11)"])


def test_failing_feeder_alone_is_no_go(gate_project: GateProject) -> None:
    feeders(gate_project, FAILING)
    assert gate_project.run("--env=staging", "-m", "not load").ret == EXIT_NO_GO


@pytest.mark.parametrize(
    "selection",
    [
        ["--deselect", LEAK],
        ["-k", "not refuses"],
        ["-k", "members or health or rows"],
        ["test_feeders.py::test_health", "test_feeders.py::test_members_see_only_their_rows"],
    ],
    ids=["deselect", "k-not", "k-or", "node-ids"],
)
def test_leaving_out_a_failing_feeder_is_inconclusive_and_names_it(
    gate_project: GateProject, selection: list[str]
) -> None:
    feeders(gate_project, FAILING)
    result = gate_project.run("--env=staging", *selection)
    assert result.ret == EXIT_INCONCLUSIVE, result.stdout.str()
    c = gate_project.criterion("zero_cross_tenant_access")
    assert (c["status"], c["required"], c["outcome"]) == ("inconclusive", True, "inconclusive")
    assert c["missing"] == [f"{LEAK} (not selected)"]
    assert LEAK in c["reason"] and "1 passed" in c["reason"]
    result.stdout.fnmatch_lines([f"*INCONCLUSIVE*zero_cross_tenant_access*{LEAK} (not selected)*"])
    assert f"{LEAK} (not selected)" in (gate_project.reports / "gate.md").read_text()


def test_last_failed_after_a_fix_is_inconclusive(gate_project: GateProject) -> None:
    gate_project.pytester.makeini("[pytest]\naddopts = --strict-markers -p no:playwright\n")
    gate_project.pytester.makepyfile(
        test_other="import pytest\n\n@pytest.mark.isolation\ndef test_workspace_rows():\n    pass\n"
    )
    feeders(gate_project, FAILING)
    assert gate_project.run("--env=staging", "-m", "isolation").ret == EXIT_NO_GO
    feeders(gate_project, "pass")  # "fixed": --lf reruns only the test that failed
    result = gate_project.run("--env=staging", "--lf")
    result.assert_outcomes(passed=1, deselected=1)  # the other file; the rest of test_feeders.py is pruned
    assert result.ret == EXIT_INCONCLUSIVE
    c = gate_project.criterion("zero_cross_tenant_access")
    # The file pytest would have skipped whole under --lf is still seen, so its feeder is missing too.
    assert sorted(c["missing"]) == [
        "test_feeders.py::test_members_see_only_their_rows (not selected)",
        "test_other.py::test_workspace_rows (not selected)",
    ]


def test_skipped_feeder_among_passing_ones_is_inconclusive(gate_project: GateProject) -> None:
    feeders(gate_project, "pytest.skip('no second tenant')")
    result = gate_project.run("--env=staging", "-m", "not load")
    assert result.ret == EXIT_INCONCLUSIVE
    c = gate_project.criterion("zero_cross_tenant_access")
    assert c["status"] == "inconclusive"
    assert c["missing"] == [f"{LEAK} (skipped: no second tenant)"]


def test_destructive_feeder_where_writes_are_forbidden_is_not_applicable_not_missing(gate_project: GateProject) -> None:
    """The environment file forbids writes: its write probes are not part of the run there (as a phase it does
    not enable), so the criterion is judged on the feeders that can run, and GO needs them all to pass."""
    gate_project.pytester.makepyfile(
        test_feeders=TESTS.format(body="pass").replace(
            "@pytest.mark.isolation\ndef test_api", "@pytest.mark.isolation\n@pytest.mark.destructive\ndef test_api"
        )
    )
    result = gate_project.run("--env=staging", "-m", "not load")
    assert result.ret == EXIT_GO
    c = gate_project.criterion("zero_cross_tenant_access")
    assert (c["status"], c["missing"]) == ("pass", [])
    assert LEAK in c["tests"] and "test_feeders.py::test_members_see_only_their_rows" in c["tests"]


def test_criterion_fed_only_by_refused_destructive_tests_is_listed_as_not_applicable(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(
        test_feeders="""
import pytest

@pytest.mark.integrity
@pytest.mark.criterion("zero_data_loss")
def test_rows_unchanged():
    pass

@pytest.mark.isolation
@pytest.mark.destructive
def test_api_refuses_other_tenants_projects():
    pass
"""
    )
    result = gate_project.run("--env=staging", "-m", "not load")
    assert result.ret == EXIT_GO
    c = gate_project.criterion("zero_cross_tenant_access")
    assert (c["status"], c["required"]) == ("inconclusive", False)
    assert (
        c["reason"]
        == "not applicable here: staging forbids writes (safety.allow_writes: false); the check is destructive"
    )
    result.stdout.fnmatch_lines(
        [
            "*not applicable here (1, as the environment file says):*",
            "*zero_cross_tenant_access: staging forbids writes*",
        ]
    )
    assert "## Not applicable here" in (gate_project.pytester.path / "reports" / "gate.md").read_text()


def test_a_failing_feeder_still_blocks_beside_refused_destructive_ones(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(
        test_feeders=TESTS.format(body="pass")
        .replace(
            "def test_members_see_only_their_rows():\n    pass",
            "def test_members_see_only_their_rows():\n    assert False",
        )
        .replace(
            "@pytest.mark.isolation\ndef test_api", "@pytest.mark.isolation\n@pytest.mark.destructive\ndef test_api"
        )
    )
    assert gate_project.run("--env=staging", "-m", "not load").ret == EXIT_NO_GO


def test_marker_selection_is_go_when_every_selected_criterions_feeders_ran(gate_project: GateProject) -> None:
    feeders(gate_project, FAILING)
    result = gate_project.run("--env=staging", "-m", "smoke")
    assert result.ret == EXIT_GO
    assert gate_project.criterion("smoke")["status"] == "pass"
    c = gate_project.criterion("zero_cross_tenant_access")
    assert (c["status"], c["required"]) == ("inconclusive", False)


def test_feeders_of_a_phase_the_environment_does_not_enable_are_not_missing(gate_project: GateProject) -> None:
    feeders(gate_project, "pass")
    # production enables post-deploy only: the isolation tests run there (their post-deploy half), integrity does not.
    result = gate_project.run("--env=production", "-m", "smoke")
    assert result.ret == EXIT_GO
    assert gate_project.criterion("smoke")["missing"] == []
