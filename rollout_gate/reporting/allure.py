"""Allure: labels on every rollout test, and the decision itself as Allure results.

allure-pytest writes one result per test; this module adds what only the
controller knows at the end: one result per criterion (observed value and
threshold as parameters, status and message saying what it did to the verdict),
one per harness error, `environment.properties` and `categories.json`, in the
Allure 2 results format that Allure 3 (`npx allure generate`) reads.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from rollout_gate.gate.files import Redact, RunInfo, write_text
from rollout_gate.gate.verdict import CriterionResult, Decision, Status

ALLURE_LABEL_MARK = "allure_label"  # allure-pytest's marker; it turns these into labels
GATE_FEATURE = "go/no-go gate"
ALLURE_CONFIG = "allurerc.json"  # beside the results directory, for `make report`
# Prefixes of the messages that `categories.json` sorts on.
ROLLBACK, NO_GO, WARN, HARNESS, NOT_REQUIRED = "[ROLLBACK]", "[NO-GO]", "[WARN]", "[HARNESS]", "[NOT REQUIRED]"

CATEGORIES = [
    {"name": "Rollback triggers", "matchedStatuses": ["failed"], "messageRegex": r"^\[ROLLBACK\][\s\S]*"},
    {"name": "Go blockers", "matchedStatuses": ["failed", "broken"], "messageRegex": r"^\[NO-GO\][\s\S]*"},
    {"name": "Harness errors", "matchedStatuses": ["broken"], "messageRegex": r"^\[HARNESS\][\s\S]*"},
    {
        "name": "Warnings",
        "matchedStatuses": ["passed", "failed", "broken", "skipped"],
        "messageRegex": r"^\[WARN\][\s\S]*",
    },
]
_SEVERITY = {"rollback": "blocker", "no_go": "critical", "warn": "minor"}


def label_item(
    item: pytest.Item, *, phase: str | None, suites: Iterable[str], stories: Iterable[str], env: str
) -> None:
    """epic = phase, feature = suite, story = criterion, tag = environment."""
    labels = [("epic", phase)] if phase else []
    labels += [("feature", s) for s in suites] + [("story", s) for s in stories] + [("tag", env)]
    for label_type, value in labels:
        item.add_marker(getattr(pytest.mark, ALLURE_LABEL_MARK)(value, label_type=label_type))


def prepare_results_dir(path: Path) -> None:
    """Start a run with an empty results directory, so the report shows this run only."""
    if path.is_dir():
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)


def write_decision(results_dir: Path, decision: Decision, run: RunInfo, redact: Redact) -> None:
    results_dir.mkdir(parents=True, exist_ok=True)
    now = int(time.time() * 1000)
    start = int((run.started or time.time()) * 1000)
    for criterion in decision.criteria:
        _write_result(results_dir, _criterion_result(criterion, run, start, now), redact)
    for message in decision.harness_errors:
        _write_result(results_dir, _harness_result(message, run, start, now), redact)
    write_text(results_dir / "categories.json", json.dumps(CATEGORIES, indent=2) + "\n", redact)
    write_text(results_dir / "environment.properties", environment_properties(run, decision), redact)
    config = report_config(f"rollout gate: {decision.verdict.value} ({run.environment})")
    write_text(results_dir.parent / ALLURE_CONFIG, json.dumps(config, indent=2) + "\n", redact)


def report_config(name: str) -> dict[str, Any]:
    """Allure 3's config (`allure generate --config`): categories.json is read only by its Allure 2 plugins."""
    return {
        "name": name,
        "categories": CATEGORIES,
        "plugins": {"awesome": {"options": {"singleFile": True, "groupBy": ["epic", "feature", "story"]}}},
    }


def environment_properties(run: RunInfo, decision: Decision) -> str:
    props = {
        "environment": run.environment,
        "target": run.target,
        "git.commit": run.git_commit,
        "run.id": run.run_id,
        "phases": run.phase or ", ".join(run.phases),
        "verdict": decision.verdict.value,
    }
    return "".join(f"{_escape(k, key=True)}={_escape(str(v))}\n" for k, v in props.items() if v)


def _criterion_result(c: CriterionResult, run: RunInfo, start: int, stop: int) -> dict[str, Any]:
    status, message = _status(c)
    labels = [("epic", p) for p in c.phases] + [
        ("feature", GATE_FEATURE),
        ("story", c.id),
        ("tag", run.environment or ""),
        ("suite", "rollout gate: criteria"),
        ("severity", _SEVERITY[c.action.value]),
    ]
    parameters = [
        ("observed", c.observed),
        ("threshold", c.threshold),
        ("samples", c.samples),
        ("action", c.action.value),
        ("status", c.status.value),
        ("required", c.required),
    ]
    description = "\n\n".join(
        line
        for line in [
            c.title,
            f"Runbook: {c.runbook}" if c.runbook else "",
            f"Measurement: {c.measurement}" if c.measurement else "",
            "Tests: " + ", ".join(c.tests) if c.tests else "",
        ]
        if line
    )
    return _result(
        key=f"criterion:{c.id}",
        name=f"criterion {c.id}: {c.title}",
        status=status,
        message=message,
        labels=labels,
        parameters=[(k, v) for k, v in parameters if v is not None],
        description=description,
        start=start,
        stop=stop,
    )


def _status(c: CriterionResult) -> tuple[str, str]:
    """Allure status and message: the message's prefix says what the criterion did to the verdict."""
    outcome = c.outcome
    text = f"{c.status.value}: {c.reason}" if c.reason else c.status.value
    if outcome == "rollback":
        return "failed", f"{ROLLBACK} {text}"
    if outcome in ("no_go", "inconclusive"):
        return ("failed" if c.status == Status.FAIL else "broken"), f"{NO_GO} {text}"
    if outcome == "warn":
        allure = {Status.FAIL: "failed", Status.ERROR: "broken", Status.INCONCLUSIVE: "skipped"}
        return allure.get(c.status, "passed"), f"{WARN} {text}"
    if c.status == Status.INCONCLUSIVE:
        return "skipped", f"{NOT_REQUIRED} {text}"
    return "passed", text if c.reason else ""


def _harness_result(message: str, run: RunInfo, start: int, stop: int) -> dict[str, Any]:
    return _result(
        key=f"harness:{message}",
        name="harness error",
        status="broken",
        message=f"{HARNESS} {message}",
        labels=[("feature", GATE_FEATURE), ("tag", run.environment or ""), ("suite", "rollout gate: harness")],
        parameters=[],
        description="The harness could not do its job; the verdict is not GO.",
        start=start,
        stop=stop,
    )


def _result(
    *,
    key: str,
    name: str,
    status: str,
    message: str,
    labels: list[tuple[str, str]],
    parameters: list[tuple[str, object]],
    description: str,
    start: int,
    stop: int,
) -> dict[str, Any]:
    history = hashlib.md5(key.encode(), usedforsecurity=False).hexdigest()
    return {
        "uuid": str(uuid.uuid4()),
        "historyId": history,
        "testCaseId": history,
        "fullName": f"rollout_gate.{key}",
        "name": name,
        "status": status,
        "statusDetails": {"message": message} if message else {},
        "stage": "finished",
        "description": description,
        "start": start,
        "stop": stop,
        "labels": [{"name": k, "value": v} for k, v in labels if v],
        "parameters": [{"name": k, "value": str(v)} for k, v in parameters],
        "links": [],
        "steps": [],
        "attachments": [],
    }


def _write_result(results_dir: Path, result: dict[str, Any], redact: Redact) -> None:
    write_text(results_dir / f"{result['uuid']}-result.json", json.dumps(result, indent=2) + "\n", redact)


def _escape(text: str, *, key: bool = False) -> str:
    """Java .properties escaping (what Allure reads)."""
    text = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    if key:
        for ch in " =:":
            text = text.replace(ch, "\\" + ch)
    return text
