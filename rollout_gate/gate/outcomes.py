"""One final outcome per test, folded from its setup/call/teardown reports.

Reports reach the controller from xdist workers through the same hook, so
this works the same with and without `-n`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from rollout_gate.gate import findings
from rollout_gate.gate.measurements import MEASUREMENT_PROPERTY, Measurement

# Properties the plugin attaches to every report (item.user_properties travel with xdist).
PHASE_PROPERTY = "rollout_phase"
CRITERIA_PROPERTY = "rollout_criteria"
SUITES_PROPERTY = "rollout_suites"

FAILING = ("failed", "error")
# Outcomes that show a test did not run to a result (not evidence for or against a criterion).
NOT_RUN = ("skipped", "xfailed")


@dataclass
class TestResult:
    nodeid: str
    outcome: str = "passed"  # passed | failed | error | skipped | xfailed | xpassed
    phase: str | None = None
    criteria: list[str] = field(default_factory=list)
    suites: list[str] = field(default_factory=list)
    duration: float = 0.0
    message: str = ""
    reruns: int = 0
    # What its check found and where (rollout_gate.gate.findings): detail for the gate files, never an outcome.
    findings: list[findings.Finding] = field(default_factory=list)

    @property
    def ran(self) -> bool:
        return self.outcome not in NOT_RUN

    @property
    def flaky(self) -> bool:
        """Passed only after at least one rerun (pytest-rerunfailures): not a clean pass."""
        return self.outcome == "passed" and self.reruns > 0


class Outcomes:
    def __init__(self) -> None:
        self.results: dict[str, TestResult] = {}
        # Keyed by (test, name): every phase's report repeats the test's user_properties.
        self._measurements: dict[tuple[str, str, int], Measurement] = {}

    @property
    def measurements(self) -> list[Measurement]:
        return list(self._measurements.values())

    def record(self, report: pytest.TestReport) -> None:
        props: dict[str, Any] = dict(report.user_properties)
        index = 0
        for key, value in report.user_properties:
            if key == MEASUREMENT_PROPERTY and isinstance(value, dict):
                index += 1
                self._measurements[(report.nodeid, str(value.get("name")), index)] = Measurement.from_json(
                    value, source=report.nodeid
                )
        result = self.results.get(report.nodeid)
        if result is None:
            result = self.results[report.nodeid] = TestResult(
                nodeid=report.nodeid,
                phase=props.get(PHASE_PROPERTY),
                criteria=list(props.get(CRITERIA_PROPERTY, [])),
                suites=list(props.get(SUITES_PROPERTY, [])),
            )
        result.duration += report.duration
        result.findings = findings.unique([*result.findings, *findings.from_properties(report.user_properties)])
        if report.outcome == "rerun":  # pytest-rerunfailures: a later attempt may pass; that is flaky
            result.reruns += 1
            return
        if hasattr(report, "wasxfail"):
            if report.when == "call" or report.skipped:
                result.outcome = "xfailed" if report.skipped else "xpassed"
            return
        if report.failed:
            if result.outcome not in FAILING:
                result.outcome = "failed" if report.when == "call" else "error"
                result.message = _short(report)
        elif report.skipped and result.outcome == "passed":
            result.outcome = "skipped"
            result.message = _short(report)

    def __len__(self) -> int:
        return len(self.results)


def _short(report: pytest.TestReport) -> str:
    """First meaningful line of a failure or skip, for gate files (never a traceback wall)."""
    if isinstance(report.longrepr, tuple):  # skip: (path, line, reason)
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message).splitlines()[0][:500]
    text = str(report.longrepr or "").strip().splitlines()
    return text[-1][:500] if text else ""
