"""Each criterion status and each verdict, from real pytest runs of a throwaway project (no database)."""

from __future__ import annotations

import pytest
from gate_testing import GateProject

EXIT_GO, EXIT_NO_GO, EXIT_ROLLBACK, EXIT_INCONCLUSIVE = 0, 1, 10, 11


def rollout_tests(
    *,
    smoke: str = "pass",
    loss: str = "pass",
    isolation: str = "pass",
    isolation_marks: str = "",
    p95: float = 180.0,
    samples: int = 500,
    error_rate: float = 0.002,
) -> str:
    """One test per criterion of gate_testing.CRITERIA; each body can be replaced to make it fail."""
    return f"""
import pytest

@pytest.mark.smoke
def test_health():
    {smoke}

@pytest.mark.integrity
@pytest.mark.criterion("zero_data_loss")
def test_rows_unchanged():
    {loss}

@pytest.mark.isolation
{isolation_marks}
def test_no_cross_tenant_rows():
    {isolation}

@pytest.mark.load
def test_load_run(rollout_measurements):
    rollout_measurements.record("load.p95_ms", {p95}, samples={samples}, unit="ms")
    rollout_measurements.record("load.error_rate", {error_rate}, samples={samples})
"""


def test_every_criterion_passing_is_go(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(rollout_tests())
    result = gate_project.run("--env=staging")
    assert result.ret == EXIT_GO
    assert gate_project.gate()["verdict"] == "GO"
    assert set(gate_project.statuses().values()) == {"pass"}
    p95 = gate_project.criterion("load_p95")
    assert (p95["observed"], p95["threshold"], p95["samples"], p95["min_samples"]) == (180.0, "< 500 ms", 500, 100)
    result.stdout.fnmatch_lines(["*= rollout gate: GO =*", "  PASS * smoke: 1 passed", "verdict: GO (exit 0)"])
    # The verdict block closes the report, just before pytest's own summary line.
    assert result.outlines[-1].startswith("=") and "passed" in result.outlines[-1]


def test_failing_no_go_criterion_is_no_go(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(rollout_tests(isolation="assert False, 'member of A read 3 rows of B'"))
    result = gate_project.run("--env=staging")
    assert result.ret == EXIT_NO_GO
    c = gate_project.criterion("zero_cross_tenant_access")
    assert (c["status"], c["action"], c["outcome"]) == ("fail", "no_go", "no_go")
    assert "member of A read 3 rows of B" in c["reason"]
    assert c["tests"] == ["test_failing_no_go_criterion_is_no_go.py::test_no_cross_tenant_rows"]
    result.stdout.fnmatch_lines(["  FAIL * no_go * zero_cross_tenant_access: *member of A read 3 rows of B*"])


@pytest.mark.parametrize(
    ("env", "phase", "verdict", "action", "code"),
    [
        ("staging", "post-migration", "NO_GO", "no_go", EXIT_NO_GO),
        ("staging", "post-deploy", "NO_GO", "no_go", EXIT_NO_GO),
        ("production", "post-deploy", "ROLLBACK", "rollback", EXIT_ROLLBACK),
    ],
)
def test_isolation_failure_blocks_in_staging_and_rolls_back_after_a_production_deploy(
    gate_project: GateProject, env: str, phase: str, verdict: str, action: str, code: int
) -> None:
    gate_project.pytester.makepyfile(
        rollout_tests(isolation="assert False, 'leak'", isolation_marks=f"@pytest.mark.phase({phase!r})")
    )
    result = gate_project.run(f"--env={env}", f"--phase={phase}")
    assert result.ret == code
    assert gate_project.gate()["verdict"] == verdict
    assert gate_project.criterion("zero_cross_tenant_access")["action"] == action


def test_environment_rule_changes_the_action(gate_project: GateProject) -> None:
    gate_project.gate_env(
        "staging", criteria="rules:\n  - {criteria: [zero_data_loss], phases: [post-migration], action: rollback}"
    )
    gate_project.pytester.makepyfile(rollout_tests(loss="assert False, 'lost 3 rows'"))
    assert gate_project.run("--env=staging").ret == EXIT_ROLLBACK
    assert gate_project.criterion("zero_data_loss")["outcome"] == "rollback"


def test_failing_warn_criterion_is_go_with_a_warning(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(rollout_tests(error_rate=0.07))
    result = gate_project.run("--env=staging")
    assert result.ret == EXIT_GO
    gate = gate_project.gate()
    c = gate_project.criterion("load_error_rate_warn")
    assert (c["status"], c["action"], c["observed"]) == ("warn", "warn", 0.07)
    assert gate["warnings"] == [f"load_error_rate_warn: warn: {c['reason']}"]
    assert "load.error_rate = 0.07 outside <= 0.05" in c["reason"]
    result.stdout.fnmatch_lines(["  WARN * warn * load_error_rate_warn: *", "verdict: GO (exit 0)"])


def test_setup_error_is_an_error_and_not_go(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(
        rollout_tests().replace("def test_no_cross_tenant_rows():", "def test_no_cross_tenant_rows(members):"),
        test_fixture="""
            import pytest

            @pytest.fixture
            def members():
                raise ConnectionError("target unreachable: 127.0.0.1:9")
        """,
    )
    gate_project.pytester.makeconftest("from test_fixture import members")
    result = gate_project.run("--env=staging")
    assert result.ret == EXIT_NO_GO
    c = gate_project.criterion("zero_cross_tenant_access")
    assert (c["status"], c["outcome"]) == ("error", "no_go")
    assert "ConnectionError: target unreachable: 127.0.0.1:9" in c["reason"]


def test_harness_error_is_never_go(gate_project: GateProject) -> None:
    gate_project.pytester.makeconftest(
        """
        import pytest
        from rollout_gate.pytest.stash import session_key

        @pytest.fixture(autouse=True)
        def _broken_probe(pytestconfig):
            pytestconfig.stash[session_key].target_failed("probe pool exhausted talking to 127.0.0.1:9")
        """
    )
    gate_project.pytester.makepyfile(rollout_tests())
    result = gate_project.run("--env=staging")
    assert result.ret == EXIT_NO_GO
    gate = gate_project.gate()
    assert set(gate_project.statuses().values()) == {"pass"}
    assert gate["harness_errors"] == ["probe pool exhausted talking to 127.0.0.1:9"]
    assert gate["reasons"] == ["harness: probe pool exhausted talking to 127.0.0.1:9"]


def test_all_tests_skipped_is_inconclusive(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(rollout_tests(isolation="pytest.skip('no members to impersonate')"))
    result = gate_project.run("--env=staging")
    assert result.ret == EXIT_INCONCLUSIVE
    c = gate_project.criterion("zero_cross_tenant_access")
    assert (c["status"], c["required"], c["outcome"]) == ("inconclusive", True, "inconclusive")
    assert "skipped" in c["reason"] and "no members to impersonate" in c["reason"]
    result.stdout.fnmatch_lines(["verdict: INCONCLUSIVE (exit 11)"])


def test_destructive_test_refused_in_production_is_not_applicable_there(gate_project: GateProject) -> None:
    """production.yaml forbids writes: a criterion fed only by destructive tests has nothing to check there,
    and says so (not required, listed with the reason); it is never a pass."""
    gate_project.pytester.makepyfile(
        rollout_tests(isolation_marks="@pytest.mark.phase('post-deploy')\n@pytest.mark.destructive")
    )
    gate_project.run("--env=production")
    c = gate_project.criterion("zero_cross_tenant_access")
    assert (c["status"], c["required"]) == ("inconclusive", False)
    assert c["reason"].startswith("not applicable here: production forbids writes")


def test_nothing_collected_is_inconclusive_not_exit_5(gate_project: GateProject) -> None:
    result = gate_project.run("--env=staging")
    assert result.ret == EXIT_INCONCLUSIVE
    gate = gate_project.gate()
    assert gate["verdict"] == "INCONCLUSIVE" and gate["tests_executed"] == 0
    assert "no test ran: nothing was verified" in gate["reasons"]
    assert gate_project.criterion("zero_data_loss")["reason"] == "no test feeds it (never collected)"
    assert gate_project.criterion("load_p95")["reason"] == "no measurement of load.p95_ms"


def test_criterion_whose_tests_are_never_collected_is_inconclusive(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(rollout_tests().replace('@pytest.mark.criterion("zero_data_loss")', ""))
    result = gate_project.run("--env=staging")
    assert result.ret == EXIT_INCONCLUSIVE
    assert gate_project.statuses()["zero_data_loss"] == "inconclusive"
    # The integrity test, which no criterion claims any more, makes an implicit one.
    implicit = gate_project.criterion("integrity")
    assert (implicit["implicit"], implicit["status"], implicit["action"]) == (True, "pass", "no_go")


def test_everything_deselected_by_a_marker_expression_is_inconclusive(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(rollout_tests())
    result = gate_project.run("--env=staging", "-m", "e2e")
    assert result.ret == EXIT_INCONCLUSIVE
    result.assert_outcomes(deselected=4)
    gate = gate_project.gate()
    assert gate["selection_given"] is True
    assert "no test ran: nothing was verified" in gate["reasons"]
    assert gate_project.criterion("smoke")["reason"].endswith("all 1 test(s) deselected (-m/-k/test paths)")


def test_marker_expression_requires_only_the_selected_criteria(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(rollout_tests(loss="assert False, 'not run: deselected'"))
    result = gate_project.run("--env=staging", "-m", "smoke")
    assert result.ret == EXIT_GO
    required = {c["id"]: c["required"] for c in gate_project.gate()["criteria"]}
    assert required == {
        "smoke": True,
        "zero_data_loss": False,
        "zero_cross_tenant_access": False,
        "load_p95": False,
        "load_error_rate_warn": False,
        "load": False,  # the load test itself: measurement criteria only watch their producers
    }
    result.stdout.fnmatch_lines(["  not required in this run (5): *"])


def test_partly_selected_criterion_is_inconclusive(gate_project: GateProject) -> None:
    # Was "partly verified" (a warning, GO): a pass needs every feeder of the run's phases (issue 12).
    gate_project.pytester.makepyfile(rollout_tests() + "\n@pytest.mark.smoke\ndef test_sign_in(): pass\n")
    result = gate_project.run("--env=staging", "-k", "health")
    assert result.ret == EXIT_INCONCLUSIVE
    c = gate_project.criterion("smoke")
    sign_in = "test_partly_selected_criterion_is_inconclusive.py::test_sign_in (not selected)"
    assert (c["status"], c["missing"]) == ("inconclusive", [sign_in])
    assert c["reason"] == f"not every test feeding it ran: 1 passed, 1 missing: {sign_in}"


@pytest.mark.parametrize(
    ("p95", "samples", "status", "code", "reason"),
    [
        (180.0, 12, "inconclusive", EXIT_INCONCLUSIVE, "too few samples: load.p95_ms over 12 < 100 needed"),
        (820.0, 500, "fail", EXIT_NO_GO, "load.p95_ms = 820 ms outside < 500 ms"),
        (499.9, 100, "pass", EXIT_GO, "load.p95_ms = 499.9 ms within < 500 ms"),
    ],
)
def test_measurement_thresholds_and_minimum_samples(
    gate_project: GateProject, p95: float, samples: int, status: str, code: int, reason: str
) -> None:
    gate_project.pytester.makepyfile(rollout_tests(p95=p95, samples=samples))
    assert gate_project.run("--env=staging").ret == code
    c = gate_project.criterion("load_p95")
    assert c["status"] == status
    assert c["reason"].startswith(reason)


def test_environment_thresholds_feed_the_criteria(gate_project: GateProject) -> None:
    gate_project.gate_env("staging", extra="")
    path = gate_project.envs / "staging.yaml"
    path.write_text(path.read_text().replace("  min_requests: 100", "  min_requests: 100\n  p95_ms: 900"))
    gate_project.pytester.makepyfile(rollout_tests(p95=820.0))
    assert gate_project.run("--env=staging").ret == EXIT_GO
    assert gate_project.criterion("load_p95")["threshold"] == "< 900 ms"


def test_load_test_that_measured_nothing_leaves_its_criteria_inconclusive(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(
        rollout_tests().replace('rollout_measurements.record("load.p95_ms", 180.0, samples=500, unit="ms")', "pass")
    )
    assert gate_project.run("--env=staging").ret == EXIT_INCONCLUSIVE
    assert gate_project.criterion("load_p95")["reason"] == "no measurement of load.p95_ms"


def test_crashed_load_run_is_an_error(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(
        rollout_tests().replace(
            'rollout_measurements.record("load.p95_ms", 180.0, samples=500, unit="ms")',
            'rollout_measurements.record("load.p95_ms", None, error="locust exited with 2")',
        )
    )
    assert gate_project.run("--env=staging").ret == EXIT_NO_GO
    c = gate_project.criterion("load_p95")
    assert (c["status"], c["reason"]) == ("error", "load.p95_ms not measured: locust exited with 2")


FLAKY = """
import pathlib
import pytest

@pytest.mark.{marker}
def test_sometimes():
    marker = pathlib.Path(__file__).with_suffix(".tried")
    if not marker.exists():
        marker.write_text("1")
        assert False, "first attempt fails"
"""


@pytest.mark.parametrize(
    ("marker", "criterion", "status", "code"),
    [("isolation", "zero_cross_tenant_access", "fail", EXIT_NO_GO), ("smoke", "smoke", "warn", EXIT_GO)],
)
def test_passing_only_after_a_rerun_is_flaky_not_clean(
    gate_project: GateProject, marker: str, criterion: str, status: str, code: int
) -> None:
    gate_project.pytester.makepyfile(FLAKY.format(marker=marker))
    result = gate_project.run("--env=staging", "-p", "rerunfailures", "--reruns=1", "-m", marker)
    assert result.parseoutcomes() | {"warnings": 0} == {"passed": 1, "rerun": 1, "warnings": 0}
    assert result.ret == code
    c = gate_project.criterion(criterion)
    assert c["status"] == status
    assert c["reason"].startswith("flaky: ") and "passed only after 1 rerun(s)" in c["reason"]
    assert c["observed"] == "1 passed (flaky)"


def test_phase_option_counts_only_that_phases_criteria(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(rollout_tests(isolation_marks="@pytest.mark.phase('post-deploy')"))
    result = gate_project.run("--env=staging", "--phase=post-deploy")
    assert result.ret == EXIT_GO
    gate = gate_project.gate()
    assert (gate["phase"], gate["phases"]) == ("post-deploy", ["post-deploy"])
    assert gate_project.statuses() == {"smoke": "pass", "zero_cross_tenant_access": "pass"}


def test_unknown_criterion_id_gets_an_implicit_no_go_criterion(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(
        rollout_tests()
        + "\n@pytest.mark.smoke\n@pytest.mark.criterion('invitations_single_use')\n"
        + "def test_token_reuse(): assert False, 'token accepted twice'\n"
    )
    assert gate_project.run("--env=staging").ret == EXIT_NO_GO
    c = gate_project.criterion("invitations_single_use")
    assert (c["implicit"], c["status"], c["action"], c["phases"]) == (True, "fail", "no_go", ["post-deploy"])
    assert gate_project.criterion("smoke")["status"] == "fail"


def test_xfailed_test_is_not_evidence(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(rollout_tests(isolation="pytest.xfail('known leak, ticket 12')"))
    assert gate_project.run("--env=staging").ret == EXIT_INCONCLUSIVE
    assert gate_project.criterion("zero_cross_tenant_access")["status"] == "inconclusive"


def test_collection_error_keeps_pytest_exit_code_and_is_not_go(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(rollout_tests(), test_broken="import pytest\ndef test_x(:\n")
    result = gate_project.run("--env=staging")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    gate = gate_project.gate()
    assert gate["verdict"] == "NO_GO"
    assert any("interrupted" in r for r in gate["harness_errors"])
    result.stdout.fnmatch_lines(["verdict: NO_GO (exit 2: interrupted)"])


def test_criteria_errors_are_usage_errors(gate_project: GateProject) -> None:
    gate_project.gate_env("staging", criteria="override:\n  zero_data_los: {action: rollback}")
    gate_project.pytester.makepyfile(rollout_tests())
    result = gate_project.run("--env=staging")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: *staging.yaml: criteria.override: unknown criterion zero_data_los (known: *"])
    # Was: no gate.json. Now the run's "running" file is replaced by one naming the error (issue 12).
    gate = gate_project.gate()
    assert (gate["verdict"], gate["status"]) == ("INCONCLUSIVE", "aborted")
    assert "criteria.override: unknown criterion zero_data_los" in gate["reasons"][0]
