"""`rollout-gate verdict` cannot be talked into GO (issue 12, item 2).

Each seen failure is reproduced with gate files written by real pytest runs of a
throwaway project (one run per phase, as the CI workflow does), or with a
hand-written file where the failure was a hand-written file.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from gate_testing import GateProject
from test_gate_statuses import EXIT_GO, EXIT_INCONCLUSIVE, EXIT_NO_GO

from rollout_gate.cli import main
from rollout_gate.gate.files import RunInfo, gate_payload
from rollout_gate.gate.verdict import Decision, Verdict

USAGE_ERROR = 4
# One passing test in each phase of gate_testing.CRITERIA's staging environment.
EVERY_PHASE = """
import pytest

@pytest.mark.predeploy
def test_ready(): pass

@pytest.mark.integrity
@pytest.mark.criterion("zero_data_loss")
def test_rows_unchanged(): {loss}

@pytest.mark.isolation
def test_no_cross_tenant_rows(): pass

@pytest.mark.smoke
def test_health(): pass

@pytest.mark.isolation
@pytest.mark.phase("post-deploy")
def test_no_cross_tenant_api(): pass

@pytest.mark.load
def test_load_run(): pass

@pytest.mark.rollback
def test_v1_restored(): pass
"""
PROMOTION = ["pre-deploy", "post-migration", "post-deploy", "load"]


def phase_file(
    project: GateProject, phase: str, *args: str, env: str = "staging", loss: str = "pass", tag: str = ""
) -> Path:
    """gate.json of `pytest --env=ENV --phase=PHASE --report-dir=reports/PHASE ARGS` over EVERY_PHASE."""
    project.pytester.makepyfile(test_phases=EVERY_PHASE.format(loss=loss))
    report_dir = project.reports / f"{env}-{phase}{tag}"
    project.run(f"--env={env}", f"--phase={phase}", f"--report-dir={report_dir}", *args)
    return report_dir / "gate.json"


def load_measurements(path: Path, *, p95: float = 180.0, samples: int = 500, env: str = "staging") -> Path:
    """A measurements file as the Locust run writes it (load.json)."""
    data = {
        "schema_version": 1,
        "kind": "measurements",
        "environment": env,
        "phase": "load",
        "measurements": [
            {"name": "load.p95_ms", "value": p95, "samples": samples, "unit": "ms", "source": "locust"},
            {"name": "load.error_rate", "value": 0.002, "samples": samples, "source": "locust"},
        ],
    }
    path.write_text(json.dumps(data))
    return path


def running_file(path: Path, finished: Path, *, status: bool) -> Path:
    """The gate file a run writes when its session starts (verdict INCONCLUSIVE, "run did not finish")."""
    recorded = json.loads(finished.read_text())
    decision = Decision(verdict=Verdict.INCONCLUSIVE, criteria=[], reasons=["run did not finish"], warnings=[])
    run = RunInfo(
        environment=recorded["environment"],
        environment_file=recorded["environment_file"],
        phase=recorded["phase"],
        phases=recorded["phases"],
        run_id="second-run",
        target=None,
        started=time.time(),
    )
    payload = gate_payload(decision, run)
    if status:
        payload["status"] = "running"
    path.write_text(json.dumps(payload))
    return path


def verdict(*args: str | Path) -> int:
    return main(["verdict", *map(str, args)])


@pytest.fixture
def promotion_files(gate_project: GateProject, tmp_path: Path) -> dict[str, Path]:
    """Every promotion phase's gate file (all passing) and the load run's measurements."""
    files = {phase: phase_file(gate_project, phase) for phase in PROMOTION}
    files["load.json"] = load_measurements(tmp_path / "load.json")
    return files


def test_every_phase_and_the_load_measurements_passing_is_go(
    promotion_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # The clean case: what the checks below withhold, complete evidence gives.
    assert verdict(*promotion_files.values(), "--env=staging") == EXIT_GO, capsys.readouterr().out
    assert verdict(*promotion_files.values()) == EXIT_GO  # the environment the files record


def test_two_of_five_phases_are_inconclusive_and_the_missing_phases_are_named(
    promotion_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # Seen: GO from the post-migration and post-deploy files alone.
    two = [promotion_files["post-migration"], promotion_files["post-deploy"]]
    assert verdict(*two, "--env=staging") == EXIT_INCONCLUSIVE
    out = capsys.readouterr().out
    assert "  reason: phase pre-deploy: no gate file" in out
    assert "  reason: phase load: no gate file" in out
    assert "  INCONCLUSIVE no_go    load_p95: no gate file for phase load" in out


def test_a_missing_phase_does_not_hide_a_failure(gate_project: GateProject) -> None:
    failing = phase_file(gate_project, "post-migration", loss="assert False, 'row 7 changed'")
    assert verdict(failing, "--env=staging") == EXIT_NO_GO


@pytest.mark.parametrize("with_env", [True, False])
def test_files_from_different_environments_are_refused(
    gate_project: GateProject, capsys: pytest.CaptureFixture[str], with_env: bool
) -> None:
    # Seen: a staging and a production gate file merged into one verdict.
    staging = phase_file(gate_project, "post-deploy")
    production = phase_file(gate_project, "post-deploy", env="production")
    args = [staging, production, "--env=staging"] if with_env else [staging, production]
    assert verdict(*args) == USAGE_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    source = "--env" if with_env else staging
    assert err == [f"rollout-gate verdict: error: {production}: environment production, not staging (from {source})"]


def test_a_file_of_another_environment_than_env_is_refused(
    gate_project: GateProject, capsys: pytest.CaptureFixture[str]
) -> None:
    production = phase_file(gate_project, "post-deploy", env="production")
    assert verdict(production, "--env=staging") == USAGE_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"rollout-gate verdict: error: {production}: environment production, not staging (from --env)"]


def test_an_inconclusive_is_not_overridden_by_a_pass_of_the_same_phase(
    gate_project: GateProject, promotion_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # Seen: the evaluated result of one file beat the inconclusive one of another.
    skipped = phase_file(gate_project, "post-migration", loss="pytest.skip('no baseline')", tag="-rerun")
    assert json.loads(skipped.read_text())["verdict"] == "INCONCLUSIVE"
    assert verdict(*promotion_files.values(), skipped) == EXIT_INCONCLUSIVE
    assert "  INCONCLUSIVE no_go    zero_data_loss: all 1 test(s) skipped or xfailed" in capsys.readouterr().out
    assert verdict(skipped, *promotion_files.values()) == EXIT_INCONCLUSIVE  # order does not matter


def test_a_failure_in_one_file_beats_a_pass_in_another(
    gate_project: GateProject, promotion_files: dict[str, Path]
) -> None:
    failed = phase_file(gate_project, "post-migration", loss="assert False, 'row 7 changed'", tag="-rerun")
    assert verdict(*promotion_files.values(), failed) == EXIT_NO_GO


def test_what_a_selected_run_did_not_require_the_environment_still_requires(
    gate_project: GateProject, capsys: pytest.CaptureFixture[str]
) -> None:
    smoke_only = phase_file(gate_project, "post-deploy", "-m", "smoke")
    assert json.loads(smoke_only.read_text())["verdict"] == "GO"  # -m smoke asks only about smoke
    assert verdict(smoke_only, "--phase=post-deploy") == EXIT_INCONCLUSIVE
    assert "  INCONCLUSIVE no_go    zero_cross_tenant_access: not required in this run" in capsys.readouterr().out


@pytest.mark.parametrize("with_env", [True, False])
def test_a_measurements_file_alone_is_never_go(
    gate_project: GateProject, tmp_path: Path, capsys: pytest.CaptureFixture[str], with_env: bool
) -> None:
    # Seen: a hand-written `load.p95_ms = 1` alone gave GO.
    load = load_measurements(tmp_path / "load.json", p95=1.0)
    args = [load, "--env=staging"] if with_env else [load]
    assert verdict(*args) == EXIT_INCONCLUSIVE
    out = capsys.readouterr().out
    assert "  INCONCLUSIVE no_go    load_p95: no gate file for phase load" in out
    assert verdict(load, "--env=staging", "--phase=load") == EXIT_INCONCLUSIVE


def test_measurements_count_only_in_a_phase_a_gate_file_covers(
    promotion_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    without_load_run = [path for name, path in promotion_files.items() if name != "load"]
    assert verdict(*without_load_run) == EXIT_INCONCLUSIVE
    assert "load_p95: no gate file for phase load" in capsys.readouterr().out


def test_a_criterion_that_no_file_of_its_phase_reports_is_inconclusive(
    promotion_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads(promotion_files["post-deploy"].read_text())
    data["criteria"] = [c for c in data["criteria"] if c["id"] != "smoke"]
    edited = tmp_path / "post-deploy-edited.json"
    edited.write_text(json.dumps(data))
    files = [edited if name == "post-deploy" else path for name, path in promotion_files.items()]
    assert verdict(*files) == EXIT_INCONCLUSIVE
    assert "smoke: no gate file of phase post-deploy reports it" in capsys.readouterr().out


@pytest.mark.parametrize("status", [True, False], ids=["status-running", "reason-only"])
def test_a_running_gate_file_is_never_evidence(
    promotion_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], status: bool
) -> None:
    running = running_file(tmp_path / "running.json", promotion_files["post-deploy"], status=status)
    assert verdict(*promotion_files.values(), running) == EXIT_INCONCLUSIVE
    out = capsys.readouterr().out
    assert f"  reason: {running}: run did not finish: not evidence for post-deploy" in out
    # Alone in its phase it covers nothing.
    others = [path for name, path in promotion_files.items() if name != "post-deploy"]
    assert verdict(*others, running) == EXIT_INCONCLUSIVE
    assert "  reason: phase post-deploy: no gate file" in capsys.readouterr().out


def test_post_rollback_is_judged_when_its_gate_file_is_given(
    gate_project: GateProject, promotion_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # A promotion verdict does not wait for post-rollback (it runs only after a rollback)…
    assert verdict(*promotion_files.values()) == EXIT_GO
    assert "phase post-rollback: not part of this verdict" in capsys.readouterr().out
    # …but one given is judged, and one asked for is required.
    assert verdict(*promotion_files.values(), "--phase=post-rollback") == EXIT_INCONCLUSIVE
    project = gate_project.pytester
    project.makepyfile(test_phases="import pytest\n\n@pytest.mark.rollback\ndef test_v1_restored(): assert False\n")
    report_dir = gate_project.reports / "post-rollback"
    gate_project.run("--env=staging", "--phase=post-rollback", f"--report-dir={report_dir}")
    assert verdict(*promotion_files.values(), report_dir / "gate.json") == EXIT_NO_GO


def test_without_env_the_files_must_name_their_environment(
    gate_project: GateProject, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    load = load_measurements(tmp_path / "load.json")
    data = json.loads(load.read_text())
    del data["environment"]
    load.write_text(json.dumps(data))
    assert verdict(load) == USAGE_ERROR
    assert capsys.readouterr().err.strip().splitlines() == [
        f"rollout-gate verdict: error: {load}: names no environment (pass --env NAME|PATH)"
    ]


def bad_file(case: str, good: Path) -> tuple[bytes, str]:
    """A file that must be refused (built from a good post-deploy gate file) and the message that names why."""
    text = good.read_text()
    data: dict[str, Any] = json.loads(text)
    measured = '{"schema_version": 1, "kind": "measurements", "environment": "staging", "measurements": '
    if case == "binary":
        return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not a UTF-8 text file"
    if case == "nan-measurement":
        bad = measured + '[{"name": "load.p95_ms", "value": NaN, "samples": 500}]}'
        return bad.encode(), "not JSON: NaN is not a number JSON allows"
    if case == "infinite-observed":
        assert '"observed": "1 passed"' in text
        return text.replace('"observed": "1 passed"', '"observed": -Infinity', 1).encode(), "-Infinity is not a number"
    if case == "overflowing-number":
        bad = measured + '[{"name": "load.p95_ms", "value": 1e999, "samples": 500}]}'
        return bad.encode(), "not JSON: 1e999 is not a finite number"
    if case == "duplicate-key":
        return text.replace('"verdict": "GO"', '"verdict": "NO_GO", "verdict": "GO"', 1).encode(), "duplicate key"
    if case == "deeply-nested":
        return b"[" * 100_000 + b"]" * 100_000, "not JSON: nested too deeply"
    if case == "not-an-object":
        return b"[1, 2]", "not a gate file: (top level): [1, 2] is not of type 'object'"
    assert case == "bad-status"
    data["criteria"][0]["status"] = "passed"
    return json.dumps(data).encode(), "not a gate file: criteria.0.status: 'passed' is not one of"


BAD_FILES = [
    "binary",
    "nan-measurement",
    "infinite-observed",
    "overflowing-number",
    "duplicate-key",
    "deeply-nested",
    "not-an-object",
    "bad-status",
]


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_file_that_is_not_a_valid_gate_file_is_one_line_and_exit_4(
    gate_project: GateProject, promotion_files: dict[str, Path], capsys: pytest.CaptureFixture[str], case: str
) -> None:
    # Seen: a binary file or a NaN ended in a traceback, exit 1.
    content, message = bad_file(case, promotion_files["post-deploy"])
    bad = gate_project.pytester.path / f"{case}.json"
    bad.write_bytes(content)
    assert verdict(*promotion_files.values(), bad) == USAGE_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"rollout-gate verdict: error: {bad}: "), err
    assert message in err[0]


def test_a_directory_or_missing_file_is_one_line_and_exit_4(
    gate_project: GateProject, capsys: pytest.CaptureFixture[str]
) -> None:
    for path in (gate_project.reports, gate_project.reports / "missing.json"):
        gate_project.reports.mkdir(exist_ok=True)
        assert verdict(path, "--env=staging") == USAGE_ERROR
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"rollout-gate verdict: error: {path}: cannot read"), err


def test_a_verdict_over_no_phase_is_never_go(gate_project: GateProject, tmp_path: Path) -> None:
    gate_project.gate_env("rollback-only", phases=["post-rollback"])
    criterion = {"id": "handmade", "title": "handmade", "status": "pass", "action": "no_go", "required": True}
    criterion |= {"outcome": "pass", "observed": None, "threshold": "", "samples": 1, "tests": [], "reason": ""}
    data = {"schema_version": 1, "kind": "pytest", "verdict": "GO", "exit_code": 0, "tests_executed": 1}
    data |= {"reasons": [], "warnings": [], "harness_errors": [], "environment": "rollback-only", "phases": []}
    path = tmp_path / "gate.json"
    path.write_text(json.dumps(data | {"criteria": [criterion]}))
    assert verdict(path, f"--environments-dir={gate_project.envs}") == EXIT_INCONCLUSIVE
