"""`make report`: Allure 3 renders the results offline; without node it says so and gate.md remains."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from gate_testing import GateProject
from test_gate_statuses import rollout_tests

REPO = Path(__file__).resolve().parents[2]
ALLURE = REPO / "node_modules" / ".bin" / "allure"


def make_report(report_dir: Path, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": path} if path is not None else None
    make = shutil.which("make") or "/usr/bin/make"
    return subprocess.run(
        [make, "-s", "-C", str(REPO), "report", f"REPORT_DIR={report_dir}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_without_node_make_report_says_so_and_succeeds(tmp_path: Path) -> None:
    result = make_report(tmp_path, path=str(tmp_path / "no-bin-here"))
    assert result.returncode == 0, result.stderr
    assert "node/npm not found; no HTML report. The verdict is in" in result.stdout


@pytest.mark.skipif(not ALLURE.exists() or not shutil.which("node"), reason="Allure 3 not installed (npm ci)")
def test_make_report_renders_a_single_file_html_report(gate_project: GateProject) -> None:
    gate_project.pytester.makepyfile(rollout_tests(isolation="assert False, 'leak'"))
    gate_project.run("--env=staging")
    result = make_report(gate_project.reports)
    assert result.returncode == 0, result.stdout + result.stderr
    report = gate_project.reports / "allure-report"
    assert (report / "index.html").stat().st_size > 100_000  # everything inlined: opens from file://
    summary = json.loads((report / "summary.json").read_text())
    assert summary["name"] == "rollout gate: NO_GO (staging)"
    assert summary["meta"]["singleFile"] is True
    assert summary["stats"]["total"] == 4 + 6  # four tests, six criteria
