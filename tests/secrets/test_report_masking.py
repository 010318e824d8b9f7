"""Masking touches only what the run writes: user files in the report dir stay as they are, and terminal
output, `-l` locals, junit XML and Allure results are masked as they are written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import RolloutProject

SECRET = "Hunter2-Rollout-Pw-9931"
DSN = f"postgresql://rg:{SECRET}@127.0.0.1:9/app"
MASKED_DSN = "***"  # the whole DSN is a secret of the environment


@pytest.fixture
def project(rollout_project: RolloutProject, monkeypatch: pytest.MonkeyPatch) -> RolloutProject:
    """The `staging` environment's DSN is `${RG_TEST_DSN}`: here one with a real-looking password."""
    monkeypatch.setenv("RG_TEST_DSN", DSN)
    return rollout_project


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def leaking(paths: list[Path]) -> list[str]:
    return [str(p) for p in paths if SECRET.encode() in p.read_bytes()]


def test_files_the_run_did_not_write_are_left_alone(project: RolloutProject) -> None:
    reports = project.pytester.path / "out"
    user_files = {
        ".env": f"DATABASE_URL={DSN}\n",
        ".pgpass": f"127.0.0.1:9:app:rg:{SECRET}\n",
        "notes/ops.txt": f"staging password: {SECRET}\n",
    }
    for name, text in user_files.items():
        (reports / name).parent.mkdir(parents=True, exist_ok=True)
        (reports / name).write_text(text)
    project.pytester.makepyfile(
        """
        import os
        def test_prints_the_dsn():
            print("connecting to", os.environ["RG_TEST_DSN"])
        """
    )
    project.pytester.runpytest("--env=staging", f"--report-dir={reports}")
    assert (reports / "gate.json").is_file() and (reports / "allure-results").is_dir()  # the run wrote there
    for name, text in user_files.items():
        assert (reports / name).read_text() == text, f"{name} was rewritten"
    written = [p for p in files_under(reports) if p.relative_to(reports).as_posix() not in user_files]
    assert any(p.name.endswith("-attachment.txt") for p in written)  # the captured stdout went to Allure
    assert leaking(written) == []


def test_an_alluredir_of_the_users_own_is_masked_as_written_and_its_other_files_kept(project: RolloutProject) -> None:
    allure_dir = project.pytester.path / "my-allure"
    allure_dir.mkdir()
    (allure_dir / "credentials.txt").write_text(f"pw={SECRET}\n")
    project.pytester.makepyfile(
        """
        import os
        def test_fails_with_the_dsn():
            assert False, "cannot reach " + os.environ["RG_TEST_DSN"]
        """
    )
    project.pytester.runpytest("--env=staging", f"--alluredir={allure_dir}")
    assert (allure_dir / "credentials.txt").read_text() == f"pw={SECRET}\n"
    results = [p for p in files_under(allure_dir) if p.name.endswith("-result.json")]
    assert results and leaking([p for p in files_under(allure_dir) if p.name != "credentials.txt"]) == []
    assert any("cannot reach " + MASKED_DSN in p.read_text() for p in results)


def test_showlocals_terminal_junit_and_allure_never_carry_the_password(project: RolloutProject) -> None:
    project.pytester.makepyfile(
        """
        import os
        def test_connects():
            dsn = os.environ["RG_TEST_DSN"]
            print("connecting to", dsn)
            assert dsn.startswith("mysql://"), f"wrong scheme in {dsn}"
        """
    )
    junit = project.pytester.path / "junit.xml"
    result = project.pytester.runpytest("--env=staging", "-l", f"--junitxml={junit}", "-o", "junit_logging=all", "-rA")
    out = result.stdout.str() + result.stderr.str()
    # The proof is live: the locals, the captured output and the failure were printed, masked.
    assert re.search(r"^dsn\s+= '\*\*\*'$", out, re.M), out
    assert f"connecting to {MASKED_DSN}" in out and f"wrong scheme in {MASKED_DSN}" in out
    assert SECRET not in out
    xml = junit.read_text()
    assert f"wrong scheme in {MASKED_DSN}" in xml and f"connecting to {MASKED_DSN}" in xml
    assert SECRET not in xml
    allure = files_under(project.reports / "allure-results")
    assert allure and leaking(allure) == []


def test_native_tracebacks_and_collection_errors_are_masked(project: RolloutProject) -> None:
    project.pytester.makepyfile(
        test_broken_module="""
        import os
        raise RuntimeError("no route to " + os.environ["RG_TEST_DSN"])
        """,
        test_fine="""
        import os
        def test_native():
            dsn = os.environ["RG_TEST_DSN"]
            raise ValueError(dsn)
        """,
    )
    junit = project.pytester.path / "junit.xml"
    result = project.pytester.runpytest(
        "--env=staging", "--tb=native", "--continue-on-collection-errors", f"--junitxml={junit}"
    )
    out = result.stdout.str() + result.stderr.str()
    assert f"no route to {MASKED_DSN}" in out and f"ValueError: {MASKED_DSN}" in out
    assert SECRET not in out and SECRET not in junit.read_text()
    assert leaking(files_under(project.reports)) == []
