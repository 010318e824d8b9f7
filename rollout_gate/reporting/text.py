"""The decision for people: the terminal verdict block and gate.md (Markdown, for pull requests and CI summaries)."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from rollout_gate.criteria.resolve import default_specs
from rollout_gate.gate import findings
from rollout_gate.gate.evaluate import NOT_APPLICABLE
from rollout_gate.gate.files import RunInfo
from rollout_gate.gate.verdict import CriterionResult, Decision, Status, Verdict
from rollout_gate.phases import Phase

ICONS = {Verdict.GO: "✅", Verdict.NO_GO: "⛔", Verdict.ROLLBACK: "⏪", Verdict.INCONCLUSIVE: "❔"}
STATUS_ICONS = {
    Status.PASS: "✅ pass",
    Status.WARN: "⚠️ warn",
    Status.FAIL: "❌ fail",
    Status.INCONCLUSIVE: "❔ inconclusive",
    Status.ERROR: "💥 error",
}


def shown(decision: Decision) -> tuple[list[CriterionResult], list[CriterionResult]]:
    """Criteria worth a line of their own, in rollout order, and those that were not required and not evaluated."""
    ordered = rollout_order(decision.criteria)
    quiet = [c for c in ordered if not c.required and c.status == Status.INCONCLUSIVE]
    loud = [c for c in ordered if c not in quiet]
    return loud, quiet


def rollout_order(criteria: Iterable[CriterionResult]) -> list[CriterionResult]:
    """By each criterion's first phase (rollout_gate.phases order), then as criteria/defaults.yaml lists them
    (criteria it does not list keep the order they came in, after those it lists)."""
    known = _defaults_order()
    listed = list(criteria)

    def key(indexed: tuple[int, CriterionResult]) -> tuple[int, int]:
        i, c = indexed
        first = min((Phase(p).order for p in c.phases if p in _PHASES), default=len(_PHASES))
        return first, known.get(c.id, len(known) + i)

    return [c for _, c in sorted(enumerate(listed), key=key)]


_PHASES = {p.value for p in Phase}


@functools.cache
def _defaults_order() -> dict[str, int]:
    return {spec.id: i for i, spec in enumerate(default_specs())}


# pytest's own exit statuses that the verdict does not replace.
_PYTEST_EXITS = {2: "interrupted", 3: "internal error", 4: "usage error", 5: "no tests collected"}


def exit_text(decision: Decision, exit_code: int | None) -> str:
    """`exit N` as the process really ends: pytest keeps 2 (interrupted), 3 (internal) and 4 (usage)."""
    if exit_code is None or exit_code == decision.exit_code:
        return f"exit {decision.exit_code}"
    return f"exit {exit_code}: {exit_name(exit_code)}"


def exit_name(code: int) -> str:
    return _PYTEST_EXITS.get(code, "not the verdict's exit code")


STATUS_WIDTH, ACTION_WIDTH = 12, 8


def verdict_lines(decision: Decision, run: RunInfo | None = None, *, exit_code: int | None = None) -> list[str]:
    lines = []
    if run is not None:
        phases = run.phase or ", ".join(run.phases) or "all"
        lines.append(f"environment {run.environment} · phases {phases} · run {run.run_id}")
    loud, quiet = shown(decision)
    if loud:
        lines.append(f"  {'STATUS':<{STATUS_WIDTH}} {'ACTION':<{ACTION_WIDTH}} CRITERION: OBSERVED / REASON")
    for c in loud:
        extra = "" if c.required else " (not required)"
        detail = c.reason or (str(c.observed) if c.observed is not None else "")
        line = f"  {c.status.value.upper():<{STATUS_WIDTH}} {c.action.value:<{ACTION_WIDTH}} {c.id}{extra}: {detail}"
        lines.append(line.rstrip())
    na = [c for c in quiet if c.reason.startswith(NOT_APPLICABLE)]
    rest = [c for c in quiet if c not in na]
    if na:
        lines.append(f"  not applicable here ({len(na)}, as the environment file says):")
        lines += [f"    {c.id}: {c.reason.removeprefix(NOT_APPLICABLE + ': ')}" for c in na]
    if rest:
        lines.append(f"  not required in this run ({len(rest)}): {', '.join(c.id for c in rest)}")
    lines += [f"  reason: {r}" for r in decision.reasons if not _about_criterion(r, loud)]
    lines += [f"  warning: {w}" for w in decision.warnings if not _about_criterion(w, loud)]
    lines.append(f"verdict: {decision.verdict.value} ({exit_text(decision, exit_code)})")
    return lines


def _about_criterion(text: str, criteria: Iterable[CriterionResult]) -> bool:
    return any(text.startswith(f"{c.id}: ") for c in criteria)


def markdown(decision: Decision, run: RunInfo, *, exit_code: int | None = None) -> str:
    verdict = decision.verdict
    out = [f"# Rollout gate: {ICONS[verdict]} {verdict.value}", ""]
    rows = [
        ("Environment", run.environment),
        ("Phases", run.phase or ", ".join(run.phases) or "all"),
        ("Run", run.run_id),
        ("Target", run.target),
        ("Commit", run.git_commit),
        ("Tests", ", ".join(f"{n} {o}" for o, n in sorted(decision.counts.items())) or "none"),
        ("Exit code", exit_text(decision, exit_code).removeprefix("exit ")),
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
    out += _findings(loud)
    missing = [c for c in loud if c.missing and c.status == Status.INCONCLUSIVE]
    if missing:
        out += ["## Missing evidence", "", "Tests feeding these criteria in this run's phases that did not run:", ""]
        for c in missing:
            out += [f"- **{c.id}**"] + [f"  - `{_inline(m)}`" for m in c.missing]
        out.append("")
    na = [c for c in quiet if c.reason.startswith(NOT_APPLICABLE)]
    if na:
        out += ["## Not applicable here", "", "The environment file says these have nothing to check here:", ""]
        out += [f"- `{c.id}` {_inline(c.title)}: {_inline(c.reason.removeprefix(NOT_APPLICABLE + ': '))}" for c in na]
        out.append("")
    quiet = [c for c in quiet if c not in na]
    if quiet:
        out += [f"<details><summary>Not required in this run ({len(quiet)})</summary>", ""]
        out += [f"- `{c.id}` {_inline(c.title)}: {_inline(c.reason)}" for c in quiet]
        out += ["", "</details>", ""]
    return "\n".join(out)


# Lines per criterion in gate.md; gate.json keeps up to findings.MAX_PER_CRITERION.
FINDINGS_SHOWN = 20


def _findings(criteria: Iterable[CriterionResult]) -> list[str]:
    """Per failing or review criterion: what its checks found, and where (one line per rule and detail)."""
    found = [c for c in criteria if c.findings and c.status != Status.PASS]
    if not found:
        return []
    out = ["## Findings", "", "What the checks found, and where (rows by their keys only, never their data):", ""]
    for c in found:
        out.append(f"- **{c.id}** ({c.status.value})")
        groups = findings.grouped(c.findings)
        for rule, detail, items in groups[:FINDINGS_SHOWN]:
            where = ", ".join(f"{f.kind.replace('_', ' ')} `{_code(f.name)}`" for f in items)
            rule_text = f"`{_code(rule)}` " if rule else ""
            out.append(f"  - {rule_text}{where}" + (f": {_inline(detail)}" if detail else ""))
        if len(groups) > FINDINGS_SHOWN:
            out.append(f"  - … and {len(groups) - FINDINGS_SHOWN} more (gate.json lists them)")
        if c.findings_omitted:
            out.append(f"  - … and {c.findings_omitted} more than gate.json keeps (the test's output has them all)")
    return [*out, ""]


def _code(text: str) -> str:
    return _inline(text).replace("`", "'")


def _cell(value: object) -> str:
    if value is None:
        return ""
    return str(value).replace("|", "\\|").replace("\n", "<br>")


def _inline(text: str) -> str:
    return text.replace("\n", " ")
