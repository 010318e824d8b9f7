"""Rehearse a defective migration set and check that the right tests catch it."""

from __future__ import annotations

from pathlib import Path

from tests.defects.catalogue import Defect
from tests.rehearsal import Rehearsal, rehearse


def rehearse_post_migration(report_dir: Path, markers: str, migrations: Path | None = None) -> Rehearsal:
    """Only the post-migration phase and the suites under test: a few seconds at the small scale."""
    return rehearse(report_dir, "--phase=post-migration", "-m", markers, "-q", "-rfE", migrations=migrations)


def assert_caught(defect: Defect, tmp_path: Path) -> None:
    run = rehearse_post_migration(tmp_path / "reports", defect.markers, defect.migrations)
    assert "Traceback" not in run.output, run.output
    assert run.returncode != 0, run.output
    assert run.verdict != "GO", run.output
    failed = [line for line in run.output.splitlines() if line.startswith(("FAILED ", "ERROR "))]
    for catch in defect.catches:
        criterion = run.criterion(catch.criterion)
        assert criterion["status"] == "fail", (catch.criterion, criterion, run.output)
        assert [line for line in failed if f"::{catch.test}" in line], f"{defect}: {catch.test} did not fail"
        failure = _failure_text(run.output, catch.test)
        for needle in catch.mentions:
            assert needle in failure, f"{defect}: {catch.test} does not mention {needle!r}:\n{failure}"
    for test in defect.passes:
        assert not [line for line in failed if f"::{test}" in line], f"{defect}: {test} should pass:\n{run.output}"


def _failure_text(output: str, test: str) -> str:
    """The failure section pytest printed for `test` (its header line is `____ test ____`)."""
    start = output.find(f" {test} _")
    assert start >= 0, f"no failure section for {test}:\n{output}"
    end = output.find("\n___", start + 1)
    summary = output.find("short test summary", start)
    stops = [i for i in (end, summary) if i > 0]
    return output[start : min(stops) if stops else len(output)]
