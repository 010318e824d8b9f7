"""What a team's repo relies on: the shipped fixtures and their override points, the target hook, the
shipped checks collected from a conftest line, and informational runs that never touch a verdict."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import rollout_gate.fixtures

from tests.conftest import RolloutProject

FIXTURE_MODULES = sorted(Path(rollout_gate.fixtures.__file__).parent.glob("*.py"))
GO_FILE = {"kind": "rollout", "verdict": "GO", "exit_code": 0, "note": "an earlier run's verdict"}


def _fixtures() -> list[tuple[str, str | None]]:
    found = []
    for path in FIXTURE_MODULES:
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and any("fixture" in ast.unparse(d) for d in node.decorator_list):
                found.append((node.name, ast.get_docstring(node)))
    return found


def test_every_shipped_fixture_has_a_collision_proof_name_and_a_docstring() -> None:
    fixtures = _fixtures()
    assert len(fixtures) > 30
    assert [name for name, _ in fixtures if not name.startswith("rollout_")] == []
    assert [name for name, doc in fixtures if not doc] == []


def test_fixtures_register_through_the_entry_point(rollout_project: RolloutProject) -> None:
    result = rollout_project.pytester.runpytest("--env=staging", "--fixtures")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*rollout_api *", "*rollout_target *", "*rollout_provisioner *"])


def test_a_conftest_fixture_replaces_a_shipped_one(rollout_project: RolloutProject) -> None:
    rollout_project.pytester.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="module")
        def rollout_api():
            return "the team's client"
        """
    )
    rollout_project.pytester.makepyfile(
        """
        import pytest

        @pytest.mark.smoke
        def test_client(rollout_api):
            assert rollout_api == "the team's client"
        """
    )
    rollout_project.pytester.runpytest("--env=staging").assert_outcomes(passed=1)


def test_the_target_comes_from_the_hook(rollout_project: RolloutProject) -> None:
    rollout_project.pytester.makeconftest(
        """
        from rollout_gate.target import RemoteTarget

        class TeamTarget(RemoteTarget):
            @property
            def base_url(self):
                return "http://team.invalid"

        def pytest_rollout_make_target(config, session):
            return TeamTarget(session.loaded)
        """
    )
    rollout_project.pytester.makepyfile(
        """
        import pytest

        @pytest.mark.smoke
        def test_target(rollout_target):
            assert type(rollout_target).__name__ == "TeamTarget"
            assert rollout_target.base_url == "http://team.invalid"
        """
    )
    rollout_project.pytester.runpytest("--env=staging").assert_outcomes(passed=1)


def test_the_conftest_line_collects_the_shipped_checks_and_paths_still_narrow(rollout_project: RolloutProject) -> None:
    rollout_project.pytester.makeconftest('pytest_plugins = ["rollout_gate.pytest.checks"]')
    rollout_project.pytester.makepyfile(test_team="def test_team(): pass")
    listed = rollout_project.pytester.runpytest("--env=staging", "--co", "-q").stdout.str()
    assert "test_team.py::test_team" in listed
    assert "smoke/test_smoke.py::test_health" in listed
    assert "data_integrity/test_no_data_lost.py::" in listed
    narrowed = rollout_project.pytester.runpytest("--env=staging", "--co", "-q", "test_team.py").stdout.str()
    assert "test_team.py::test_team" in narrowed and "smoke/test_smoke.py" not in narrowed
    # Without an environment the plugin is dormant and so are the shipped checks.
    (rollout_project.envs / "staging.yaml").unlink()
    dormant = rollout_project.pytester.runpytest("--co", "-q").stdout.str()
    assert "smoke/test_smoke.py" not in dormant


@pytest.mark.parametrize(
    "args",
    [["--fixtures"], ["--co"], ["--markers"], ["--version"], ["--help"], ["--fixtures-per-test"]],
    ids=lambda a: a[0],
)
def test_informational_runs_never_touch_an_earlier_verdict(rollout_project: RolloutProject, args: list[str]) -> None:
    rollout_project.pytester.makepyfile("import pytest\n@pytest.mark.smoke\ndef test_x(): pass\n")
    reports = rollout_project.reports
    (reports / "allure-results").mkdir(parents=True)
    (reports / "allure-results" / "earlier-result.json").write_text("{}")
    gate = reports / "gate.json"
    gate.write_text(json.dumps(GO_FILE))
    before = gate.read_bytes()
    rollout_project.pytester.runpytest("--env=staging", *args)
    assert gate.read_bytes() == before
    assert (reports / "allure-results" / "earlier-result.json").exists()
    assert not (reports / "gate.md").exists()
