"""rollout-gate used the way a team uses it: a wheel installed into a fresh virtualenv outside this
repository, `rollout-gate init` in an empty app directory, and the shipped checks run from there.

Slow by nature (a wheel build, a virtualenv, an install from the package index, two rehearsals), so
everything shares one module-scoped installation.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rehearsal import ROOT, SMALL_SCALE

DEFECT = ROOT / "tests" / "defects" / "lost_rows" / "0099_defect.sql"
TEAM_CRITERION = "team_invoices_reconcile"
TEAM_HOOK = f'''

def pytest_rollout_criteria(config, environment):
    """The team's own criterion, fed by its own test below."""
    return [{{"id": "{TEAM_CRITERION}", "title": "Invoices reconcile after the migration",
             "phases": ["post-migration"], "action": "no_go"}}]
'''
TEAM_TEST = f'''
import pytest


@pytest.mark.integrity
@pytest.mark.criterion("{TEAM_CRITERION}")
def test_invoices_reconcile(rollout_db):
    assert rollout_db.execute("select count(*) from public.time_entries").fetchone()[0] > 0


@pytest.mark.integrity
@pytest.mark.criterion("zero_data_loss")
def test_team_feeds_a_shipped_criterion(rollout_baseline):
    assert rollout_baseline.tables
'''


def _run(
    argv: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _clean_env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLOUT_", "PYTEST_", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PYTHONPATH", None)
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(venv, app dir): the built wheel installed with its `local` extra, `rollout-gate init` run in the app."""
    base = tmp_path_factory.mktemp("installed")
    wheels = base / "wheels"
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)], cwd=base)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = wheels.glob("rollout_gate-*.whl")
    venv = base / "venv"
    assert _run([sys.executable, "-m", "venv", str(venv)], cwd=base).returncode == 0
    pip = _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                f"{wheel}[local]"], cwd=base, timeout=900)  # fmt: skip
    assert pip.returncode == 0, pip.stderr[-3000:]
    app = base / "app"
    app.mkdir()
    init = _run([str(venv / "bin" / "rollout-gate"), "init"], cwd=app, env=_clean_env(venv))
    assert init.returncode == 0, init.stdout + init.stderr
    yield venv, app
    shutil.rmtree(app / ".rollout", ignore_errors=True)


def _pytest(venv: Path, app: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = _clean_env(venv) | SMALL_SCALE | extra
    return _run([str(venv / "bin" / "python"), "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=app, env=env)


def test_the_wheel_installs_only_the_rollout_gate_package(installed: tuple[Path, Path]) -> None:
    venv, _ = installed
    site = next((venv / "lib").glob("python3*/site-packages"))
    ours = [
        p.name for p in site.iterdir() if p.name.startswith(("rollout_gate", "reference_app", "suites", "fixtures"))
    ]
    assert sorted(n for n in ours if not n.endswith(".dist-info")) == ["rollout_gate"]
    assert not (site / "reference_app").exists() and not (site / "suites").exists()
    assert (site / "rollout_gate" / "suites" / "smoke" / "test_smoke.py").is_file()
    assert (site / "rollout_gate" / "locustfiles" / "locustfile.py").is_file()


def test_init_then_the_shipped_post_migration_checks_give_go_from_the_app_directory(
    installed: tuple[Path, Path],
) -> None:
    venv, app = installed
    with (app / "conftest.py").open("a", encoding="utf-8") as fh:
        fh.write(TEAM_HOOK)
    (app / "tests").mkdir(exist_ok=True)
    (app / "tests" / "test_team_rollout.py").write_text(textwrap.dedent(TEAM_TEST))
    result = _pytest(venv, app, "--env=local", "--phase=post-migration")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    gate = json.loads((app / "reports" / "gate.json").read_text())
    assert gate["verdict"] == "GO"
    by_id = {c["id"]: c for c in gate["criteria"]}
    assert by_id[TEAM_CRITERION]["status"] == "pass" and by_id[TEAM_CRITERION]["required"]
    assert by_id[TEAM_CRITERION]["tests"] == ["tests/test_team_rollout.py::test_invoices_reconcile"]
    fed = by_id["zero_data_loss"]["tests"]
    assert "tests/test_team_rollout.py::test_team_feeds_a_shipped_criterion" in fed
    assert any(t.startswith("data_integrity/") for t in fed), fed  # and the shipped check
    # Nothing of the package was copied into the app: its only test files are the team's.
    copied = sorted(str(p.relative_to(app)) for p in app.rglob("*.py") if ".rollout" not in p.parts)
    assert copied == ["conftest.py", "tests/test_team_rollout.py"]


def test_a_defective_migration_set_is_no_go_from_the_app_directory(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    venv, app = installed
    site = next((venv / "lib").glob("python3*/site-packages"))
    migrations = tmp_path / "migrations"
    shutil.copytree(site / "rollout_gate" / "reference_app" / "migrations", migrations)
    shutil.copy(DEFECT, migrations / DEFECT.name)
    reports = tmp_path / "reports"
    result = _pytest(venv, app, "--env=local", "--phase=post-migration", f"--report-dir={reports}",
                     ROLLOUT_MIGRATIONS_DIR=str(migrations))  # fmt: skip
    assert result.returncode == 1, (result.stdout + result.stderr)[-4000:]
    gate = json.loads((reports / "gate.json").read_text())
    assert gate["verdict"] == "NO_GO"
    failed = {c["id"] for c in gate["criteria"] if c["status"] == "fail"}
    assert "zero_data_loss" in failed
