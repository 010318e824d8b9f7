"""The decision for people: the terminal verdict block and gate.md (Markdown, for pull requests and CI summaries)."""

from __future__ import annotations

from collections.abc import Iterable

from rollout_gate.gate.files import RunInfo
from rollout_gate.gate.verdict import CriterionResult, Decision, Status, Verdict

ICONS = {Verdict.GO: "✅", Verdict.NO_GO: "⛔", Verdict.ROLLBACK: "⏪", Verdict.INCONCLUSIVE: "❔"}
STATUS_ICONS = {
    Status.PASS: "✅ pass",
    Status.WARN: "⚠️ warn",
    Status.FAIL: "❌ fail",
    Status.INCONCLUSIVE: "❔ inconclusive",
    Status.ERROR: "💥 error",
}


def shown(decision: Decision) -> tuple[list[CriterionResult], list[CriterionResult]]:
    """Criteria worth a line of their own, and those that were not required and not evaluated."""
    quiet = [c for c in decision.criteria if not c.required and c.status == Status.INCONCLUSIVE]
    loud = [c for c in decision.criteria if c not in quiet]
    loud.sort(key=lambda c: (-c.status.severity, c.id))
    return loud, quiet


def verdict_lines(decision: Decision, run: RunInfo | None = None) -> list[str]:
    lines = []
    if run is not None:
        phases = run.phase or ", ".join(run.phases) or "all"
        lines.append(f"environment {run.environment} · phases {phases} · run {run.run_id}")
    loud, quiet = shown(decision)
    for c in loud:
        extra = "" if c.required else " (not required)"
        detail = c.reason or (str(c.observed) if c.observed is not None else "")
        lines.append(f"  {c.status.value.upper():<12} {c.action.value:<8} {c.id}{extra}: {detail}".rstrip())
    if quiet:
        lines.append(f"  not required in this run ({len(quiet)}): {', '.join(c.id for c in quiet)}")
    lines += [f"  reason: {r}" for r in decision.reasons if not _about_criterion(r, loud)]
    lines += [f"  warning: {w}" for w in decision.warnings if not _about_criterion(w, loud)]
    lines.append(f"verdict: {decision.verdict.value} (exit {decision.exit_code})")
    return lines


def _about_criterion(text: str, criteria: Iterable[CriterionResult]) -> bool:
    return any(text.startswith(f"{c.id}: ") for c in criteria)


def markdown(decision: Decision, run: RunInfo) -> str:
    verdict = decision.verdict
    out = [f"# Rollout gate: {ICONS[verdict]} {verdict.value}", ""]
    rows = [
        ("Environment", run.environment),
        ("Phases", run.phase or ", ".join(run.phases) or "all"),
        ("Run", run.run_id),
        ("Target", run.target),
        ("Commit", run.git_commit),
        ("Tests", ", ".join(f"{n} {o}" for o, n in sorted(decision.counts.items())) or "none"),
        ("Exit code", str(decision.exit_code)),
    ]
    out += ["| | |", "|---|---|"] + [f"| {k} | {_cell(v)} |" for k, v in rows if v] + [""]
    if decision.reasons:
        out += ["## Why not GO", ""] + [f"- {_inline(r)}" for r in decision.reasons] + [""]
    if decision.warnings:
        out += ["## Warnings", ""] + [f"- {_inline(w)}" for w in decision.warnings] + [""]
    loud, quiet = shown(decision)
    out += [
        "## Criteria",
        "",
        "| Status | Criterion | Action | Observed | Threshold | Samples | Reason |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in loud:
        name = f"**{c.id}**<br>{_cell(c.title)}" + ("" if c.required else "<br>_not required_")
        samples = "" if c.samples is None else str(c.samples)
        out.append(
            f"| {STATUS_ICONS[c.status]} | {name} | {c.action.value} | {_cell(c.observed)} | "
            f"{_cell(c.threshold)} | {samples} | {_cell(c.reason)} |"
        )
    out.append("")
    if quiet:
        out += [f"<details><summary>Not required in this run ({len(quiet)})</summary>", ""]
        out += [f"- `{c.id}` {_inline(c.title)}: {_inline(c.reason)}" for c in quiet]
        out += ["", "</details>", ""]
    return "\n".join(out)


def _cell(value: object) -> str:
    if value is None:
        return ""
    return str(value).replace("|", "\\|").replace("\n", "<br>")


def _inline(text: str) -> str:
    return text.replace("\n", " ")
