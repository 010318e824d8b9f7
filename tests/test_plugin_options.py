"""The plugin's options, markers, phase selection and ordering, seen from a real pytest run."""

from __future__ import annotations

import json

import pytest

from tests.conftest import RolloutProject

PHASED_TESTS = """
import pytest

@pytest.mark.rollback
def test_e_rollback(): pass

@pytest.mark.smoke
def test_c_smoke(): pass

@pytest.mark.integrity
def test_b_integrity(): pass

@pytest.mark.load
def test_d_load(): pass

@pytest.mark.predeploy
def test_a_predeploy(): pass
"""


def ran(result: pytest.RunResult) -> list[str]:
    return [line.split("::")[1].split()[0] for line in result.outlines if "::test_" in line and "PASSED" in line]


@pytest.mark.parametrize(
    ("args", "env_text", "expected"),
    [
        (["--env=nope"], None, "ERROR: unknown environment 'nope': no */environments/nope.yaml (known: staging)"),
        (["--env=broken"], "kind: remote\ntarget: [x\n", "ERROR: */broken.yaml: invalid YAML at line *"),
        (
            ["--env=broken"],
            "target:\n  base_url: ${NOT_SET_ANYWHERE}\n",
            "ERROR: */broken.yaml: target.base_url: environment variable NOT_SET_ANYWHERE is not set",
        ),
        (["--env=broken"], "target:\n  base_ulr: x\n", "ERROR: */broken.yaml:2: target.base_ulr: unknown key"),
        (["--env=staging", "--phase=launch"], None, "ERROR: --phase: unknown phase 'launch' (choose from *)"),
        (["--env=missing.yaml"], None, "ERROR: environment file missing.yaml does not exist"),
    ],
)
def test_configuration_errors_are_one_line_usage_errors(
    rollout_project: RolloutProject, args: list[str], env_text: str | None, expected: str
) -> None:
    if env_text is not None:
        rollout_project.env("broken", env_text)
    rollout_project.pytester.makepyfile("def test_x(): pass")
    result = rollout_project.pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([expected])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    # Was: no gate.json. Now an aborted one (INCONCLUSIVE) replaces any earlier run's verdict (issue 12).
    gate = json.loads((rollout_project.reports / "gate.json").read_text())
    assert (gate["verdict"], gate["status"]) == ("INCONCLUSIVE", "aborted")
    assert gate["reasons"][0].startswith("run did not finish: usage error: ")


def test_phase_not_enabled_for_environment_is_a_usage_error(rollout_project: RolloutProject) -> None:
    rollout_project.env("prod", "kind: remote\nphases:\n  enabled: [post-deploy]\n")
    rollout_project.pytester.makepyfile("def test_x(): pass")
    result = rollout_project.pytester.runpytest("--env=prod", "--phase=pre-deploy")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: *prod.yaml: phases.enabled: phase pre-deploy is not enabled*"])


def test_tests_run_in_rollout_order(rollout_project: RolloutProject) -> None:
    rollout_project.pytester.makepyfile(PHASED_TESTS)
    result = rollout_project.pytester.runpytest("--env=staging", "-v")
    assert ran(result) == ["test_a_predeploy", "test_b_integrity", "test_c_smoke", "test_d_load", "test_e_rollback"]


def test_phase_option_selects_one_phase(rollout_project: RolloutProject) -> None:
    rollout_project.pytester.makepyfile(PHASED_TESTS)
    result = rollout_project.pytester.runpytest("--env=staging", "--phase=post-deploy", "-v")
    assert ran(result) == ["test_c_smoke"]
    result.assert_outcomes(passed=1, deselected=4)


def test_phase_from_environment_variable(rollout_project: RolloutProject, monkeypatch: pytest.MonkeyPatch) -> None:
    rollout_project.pytester.makepyfile(PHASED_TESTS)
    monkeypatch.setenv("ROLLOUT_PHASE", "load")
    result = rollout_project.pytester.runpytest("--env=staging", "-v")
    assert ran(result) == ["test_d_load"]


def test_marker_expression_selects_suites(rollout_project: RolloutProject) -> None:
    rollout_project.pytester.makepyfile(PHASED_TESTS)
    result = rollout_project.pytester.runpytest("--env=staging", "-m", "smoke", "-v")
    assert ran(result) == ["test_c_smoke"]


def test_environment_enables_a_subset_of_phases(rollout_project: RolloutProject) -> None:
    rollout_project.env("prod", "kind: remote\nphases:\n  enabled: [post-deploy, post-rollback]\n")
    rollout_project.pytester.makepyfile(PHASED_TESTS)
    result = rollout_project.pytester.runpytest("--env=prod", "-v")
    assert ran(result) == ["test_c_smoke", "test_e_rollback"]


def test_explicit_phase_marker_and_conflicting_markers(rollout_project: RolloutProject) -> None:
    rollout_project.pytester.makepyfile(
        """
        import pytest

        @pytest.mark.integrity
        @pytest.mark.phase("post-rollback")
        def test_integrity_after_rollback(): pass

        @pytest.mark.smoke
        def test_smoke(): pass
        """
    )
    result = rollout_project.pytester.runpytest("--env=staging", "--phase=post-rollback", "-v")
    assert ran(result) == ["test_integrity_after_rollback"]
    rollout_project.pytester.makepyfile(
        test_conflict="import pytest\n@pytest.mark.smoke\n@pytest.mark.predeploy\ndef test_both(): pass\n"
    )
    result = rollout_project.pytester.runpytest("--env=staging", "test_conflict.py")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: *test_both: markers predeploy, smoke belong to different phases*"])


def test_markers_are_registered_and_strict(rollout_project: RolloutProject) -> None:
    result = rollout_project.pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.criterion(id): the go/no-go criterion this test feeds"])
    rollout_project.pytester.makepyfile("import pytest\n@pytest.mark.smok\ndef test_typo(): pass\n")
    result = rollout_project.pytester.runpytest("--env=staging")
    assert result.ret == pytest.ExitCode.INTERRUPTED  # collection error: 'smok' not found in `markers`
    result.stdout.fnmatch_lines(["*'smok' not found in `markers` configuration option*"])


def test_destructive_tests_are_refused_where_writes_are_forbidden(rollout_project: RolloutProject) -> None:
    rollout_project.env("writable", allow_writes=True)
    rollout_project.pytester.makepyfile(
        "import pytest\n@pytest.mark.smoke\n@pytest.mark.destructive\ndef test_writes(): pass\n"
    )
    result = rollout_project.pytester.runpytest("--env=staging")
    result.assert_outcomes(deselected=1)  # never run, not even set up
    result.stdout.fnmatch_lines(
        ["*smoke: staging forbids writes (safety.allow_writes: false); the check is destructive"]
    )
    rollout_project.pytester.runpytest("--env=writable").assert_outcomes(passed=1)


def test_report_header_names_environment_and_masks_secrets(
    rollout_project: RolloutProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RG_TEST_DSN", "postgresql://rg:very-secret-pw@db.internal.test:5432/app")
    rollout_project.pytester.makepyfile("def test_x(): pass")
    result = rollout_project.pytester.runpytest("--env=staging")
    result.stdout.fnmatch_lines(
        [
            "rollout-gate: environment staging (from --env): *staging.yaml",
            "rollout-gate: target http://127.0.0.1:9, postgresql://rg:***@db.internal.test:5432/app",
        ]
    )
    assert "very-secret-pw" not in result.stdout.str()


def test_environment_resolution_order(rollout_project: RolloutProject, monkeypatch: pytest.MonkeyPatch) -> None:
    rollout_project.env("qa")
    rollout_project.pytester.makepyfile("def test_x(): pass")
    monkeypatch.setenv("ROLLOUT_ENV", "qa")
    rollout_project.pytester.runpytest().stdout.fnmatch_lines(["rollout-gate: environment qa (from ROLLOUT_ENV)*"])
    rollout_project.pytester.runpytest("--env=staging").stdout.fnmatch_lines(
        ["rollout-gate: environment staging (from --env)*"]
    )


def test_environment_given_as_a_path(rollout_project: RolloutProject) -> None:
    path = rollout_project.pytester.path / "elsewhere.yaml"
    path.write_text("name: custom\nkind: remote\n")
    rollout_project.pytester.makepyfile("import pytest\n@pytest.mark.smoke\ndef test_x(): pass\n")
    # -m smoke: only the smoke criterion is required, so the one passing test can make it GO.
    result = rollout_project.pytester.runpytest(f"--env={path}", "-m", "smoke")
    result.stdout.fnmatch_lines(["rollout-gate: environment custom (from --env): *elsewhere.yaml"])
    assert result.ret == 0


def test_unreachable_target_is_one_line_and_not_go(rollout_project: RolloutProject) -> None:
    rollout_project.pytester.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.integrity

        def test_one(rollout_target_dsn): pass
        def test_two(rollout_target_dsn): pass
        """
    )
    result = rollout_project.pytester.runpytest("--env=staging")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*target unreachable: 127.0.0.1:9 (target.database_url): Connection refused*"])
    assert "s3cret-pass" not in result.stdout.str()
    gate = json.loads((rollout_project.reports / "gate.json").read_text())
    assert gate["verdict"] != "GO"
    assert any("target unreachable: 127.0.0.1:9" in reason for reason in gate["reasons"])


def test_nothing_ran_is_never_go(rollout_project: RolloutProject) -> None:
    rollout_project.pytester.makepyfile("import pytest\n@pytest.mark.smoke\ndef test_x(): pass\n")
    result = rollout_project.pytester.runpytest("--env=staging", "-m", "isolation")
    assert result.ret != 0
    assert json.loads((rollout_project.reports / "gate.json").read_text())["verdict"] != "GO"


def test_self_test_runs_write_no_gate(rollout_project: RolloutProject) -> None:
    rollout_project.pytester.makepyfile("def test_plain(): pass")
    assert rollout_project.pytester.runpytest().ret == 0
    assert not (rollout_project.reports / "gate.json").exists()


def test_unreachable_app_anywhere_in_a_test_is_one_line(rollout_project: RolloutProject) -> None:
    rollout_project.pytester.makepyfile(
        """
        import pytest

        @pytest.mark.smoke
        def test_uses_the_app(rollout_target):
            assert rollout_target.base_url  # the check itself raises: nobody caught it
        """
    )
    result = rollout_project.pytester.runpytest("--env=staging")
    result.stdout.fnmatch_lines(["target unreachable: 127.0.0.1:9 (target.base_url): Connection refused"])
    assert "rollout_gate/target.py" not in result.stdout.str()  # no traceback into the harness
    gate = json.loads((rollout_project.reports / "gate.json").read_text())
    assert gate["verdict"] == "NO_GO"
    assert any("target unreachable: 127.0.0.1:9 (target.base_url)" in e for e in gate["harness_errors"])
