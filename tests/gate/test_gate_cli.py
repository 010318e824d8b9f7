"""`rollout-gate verdict FILE...`: one verdict from pytest gate files and a load run's measurements.

What it refuses to turn into GO is in test_verdict_fail_closed.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from gate_testing import GateProject
from test_gate_statuses import EXIT_GO, EXIT_INCONCLUSIVE, EXIT_NO_GO, EXIT_ROLLBACK

from rollout_gate.cli import main
from rollout_gate.gate.files import schema

SMOKE_ONLY = "import pytest\n\n@pytest.mark.smoke\ndef test_health(): pass\n"


def measurements(path: Path, **values: tuple[float | None, int]) -> Path:
    """A load run's gate file: {"load.p95_ms": (value, samples), …} (keyword names use _ for .)."""
    data: dict[str, Any] = {
        "schema_version": 1,
        "kind": "measurements",
        "environment": "staging",
        "measurements": [
            {"name": name.replace("__", "."), "value": value, "samples": samples, "source": "locust"}
            for name, (value, samples) in values.items()
        ],
    }
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def pytest_gate(gate_project: GateProject) -> Path:
    """gate.json of a staging run whose only tests are smoke tests (load criteria inconclusive)."""
    gate_project.pytester.makepyfile(SMOKE_ONLY)
    gate_project.run("--env=staging", "--phase=post-deploy")
    return gate_project.reports / "gate.json"


def test_a_pytest_gate_file_alone_keeps_its_verdict(pytest_gate: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # post-deploy needs zero_cross_tenant_access too, which no test fed.
    assert main(["verdict", str(pytest_gate)]) == EXIT_INCONCLUSIVE
    assert "verdict: INCONCLUSIVE (exit 11)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("p95", "error_rate", "code"),
    [
        ((180.0, 500), (0.002, 500), EXIT_GO),
        ((820.0, 500), (0.002, 500), EXIT_NO_GO),
        ((180.0, 5), (0.002, 5), EXIT_INCONCLUSIVE),
    ],
)
def test_load_measurements_are_judged_by_the_criteria(
    gate_project: GateProject, tmp_path: Path, p95: tuple[float, int], error_rate: tuple[float, int], code: int
) -> None:
    # The load phase's gate file (its producer ran, the numbers came from a separate Locust run).
    gate_project.pytester.makepyfile("import pytest\n\n@pytest.mark.load\ndef test_load_run(): pass\n")
    gate_project.run("--env=staging", "--phase=load")
    phase_gate = gate_project.reports / "gate.json"
    load = measurements(tmp_path / "load.json", load__p95_ms=p95, load__error_rate=error_rate)
    out = tmp_path / "combined.json"
    envs = f"--environments-dir={gate_project.envs}"
    assert (
        main(["verdict", str(phase_gate), str(load), "--env=staging", "--phase=load", envs, f"--output={out}"]) == code
    )
    combined = json.loads(out.read_text())
    jsonschema.validate(combined, schema())
    assert combined["kind"] == "combined" and combined["sources"] == [str(phase_gate), str(load)]
    assert combined["phases"] == ["load"]
    assert {c["id"] for c in combined["criteria"]} == {"load_p95", "load_error_rate_warn", "load"}


def test_pytest_and_load_gate_files_combine_into_one_verdict(
    gate_project: GateProject, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gate_project.pytester.makepyfile(
        SMOKE_ONLY
        + "\n@pytest.mark.isolation\n@pytest.mark.phase('post-deploy')\ndef test_isolated(): pass\n"
        + "\n@pytest.mark.integrity\n@pytest.mark.criterion('zero_data_loss')\ndef test_rows(): pass\n"
    )
    gate_project.run("--env=staging")
    pytest_gate = gate_project.reports / "gate.json"
    assert json.loads(pytest_gate.read_text())["verdict"] == "INCONCLUSIVE"  # load criteria not measured
    load = measurements(tmp_path / "load.json", load__p95_ms=(180.0, 500), load__error_rate=(0.07, 500))
    markdown = tmp_path / "gate.md"
    code = main(["verdict", str(pytest_gate), str(load), f"--markdown={markdown}"])
    assert code == EXIT_GO
    out = capsys.readouterr().out
    assert "  WARN         warn     load_error_rate_warn: load.error_rate = 0.07 outside <= 0.05" in out
    assert markdown.read_text().startswith("# Rollout gate: ✅ GO")


def test_worst_result_wins_and_rollback_exits_10(gate_project: GateProject, tmp_path: Path) -> None:
    base = {"schema_version": 1, "kind": "pytest", "verdict": "GO", "exit_code": 0, "tests_executed": 1}
    base |= {"reasons": [], "warnings": [], "harness_errors": [], "counts": {"passed": 1}}
    base |= {"environment": "staging", "phases": ["post-migration"]}

    def criterion(criterion_id: str, status: str, action: str, phases: list[str]) -> dict[str, Any]:
        c = {"id": criterion_id, "title": criterion_id, "status": status, "action": action, "required": True}
        c |= {"outcome": "pass", "observed": None, "threshold": "every test passes", "samples": 1}
        return c | {"tests": [f"test_{criterion_id}"], "reason": "", "phases": phases}

    def gate_file(name: str, status: str, action: str) -> Path:
        isolated = criterion("zero_cross_tenant_access", "pass", "no_go", ["post-migration", "post-deploy"])
        criteria = [criterion("zero_data_loss", status, action, ["post-migration"]), isolated]
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(base | {"criteria": criteria}))
        return path

    a, b, c = (
        gate_file("a", "pass", "no_go"),
        gate_file("b", "fail", "rollback"),
        gate_file("c", "inconclusive", "no_go"),
    )
    envs = f"--environments-dir={gate_project.envs}"

    def verdict(*files: Path, phase: str = "post-migration") -> int:
        return main(["verdict", *map(str, files), "--env=staging", f"--phase={phase}", envs])

    assert verdict(a) == EXIT_GO
    assert verdict(a, c) == EXIT_INCONCLUSIVE  # an inconclusive is never overridden by a pass of the same phase
    assert verdict(c, a) == EXIT_INCONCLUSIVE
    assert verdict(a, b) == EXIT_ROLLBACK  # the worse result, with the stricter action
    assert verdict(c, b) == EXIT_ROLLBACK  # a failure beats an inconclusive
    assert verdict(a, phase="load") == EXIT_INCONCLUSIVE  # no gate file of that phase


def test_unusable_input_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": 1, "kind": "pytest"}')
    assert main(["verdict", str(bad)]) == 4
    assert "not a gate file: (top level): 'verdict' is a required property" in capsys.readouterr().err
    assert main(["verdict", str(tmp_path / "missing.json")]) == 4
    with pytest.raises(SystemExit) as exc:
        main(["verdict"])
    assert exc.value.code == 4


def test_console_script_is_installed(pytest_gate: Path) -> None:
    script = Path(sys.executable).with_name("rollout-gate")
    result = subprocess.run([str(script), "verdict", str(pytest_gate)], capture_output=True, text=True, check=False)
    assert result.returncode == EXIT_INCONCLUSIVE, result.stderr
    assert result.stdout.rstrip().endswith("verdict: INCONCLUSIVE (exit 11)")
