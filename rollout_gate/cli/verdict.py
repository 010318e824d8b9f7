"""`rollout-gate verdict FILE...`: one verdict from several gate files (a pytest run, a load run…).

Decided criteria are merged by id: an evaluated result beats an inconclusive one,
and among evaluated results the worst wins. Measurement files are evaluated here
against the criteria (shipped defaults plus `--env`'s overrides). The exit code is
the verdict's: 0 GO, 1 NO_GO, 10 ROLLBACK, 11 INCONCLUSIVE; 4 for unusable input.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from rollout_gate.config import ConfigError, LoadedEnvironment, load_environment, resolve_path
from rollout_gate.criteria.resolve import base_specs, default_specs, resolve
from rollout_gate.gate.evaluate import RunScope, evaluate
from rollout_gate.gate.files import (
    KIND_COMBINED,
    KIND_MEASUREMENTS,
    KIND_PYTEST,
    GateFile,
    GateFileError,
    RunInfo,
    gate_payload,
    load_gate_file,
    write_gate_json,
    write_text,
)
from rollout_gate.gate.measurements import Measurement
from rollout_gate.gate.verdict import CriterionResult, Decision, Status, decide
from rollout_gate.phases import Phase, parse_phase
from rollout_gate.reporting import text

USAGE_ERROR = 4


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "verdict",
        help="combine gate files into one verdict",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="gate.json files or measurement files")
    parser.add_argument(
        "--env",
        metavar="NAME|PATH",
        help="environment whose criteria and thresholds judge measurement files (its ${VARS} need not be set); "
        "default: the environment file a pytest gate file names, if it exists, else the shipped defaults",
    )
    parser.add_argument(
        "--environments-dir", type=Path, default=Path("environments"), help="where --env NAME is looked up"
    )
    parser.add_argument("--phase", type=_phase, help="count only this phase's criteria")
    parser.add_argument("--output", "-o", type=Path, help="write the combined gate file here")
    parser.add_argument("--markdown", type=Path, help="write the combined verdict as Markdown here")
    return parser


def _phase(value: str) -> Phase:
    try:
        return parse_phase(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    try:
        files = [load_gate_file(path) for path in args.files]
        loaded = _environment(args.env, args.environments_dir) if args.env else _environment_of(files)
    except (GateFileError, ConfigError) as exc:
        print(f"rollout-gate verdict: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    decision, run_info, measurements = combine(files, loaded=loaded, phase=args.phase)
    redact = loaded.redact if loaded else (lambda s: s)
    for line in text.verdict_lines(decision, run_info):
        print(redact(line))
    payload = gate_payload(
        decision, run_info, kind=KIND_COMBINED, measurements=measurements, sources=[str(f.path) for f in files]
    )
    if args.output:
        write_gate_json(args.output, payload, redact)
    md = text.markdown(decision, run_info)
    if args.markdown:
        write_text(args.markdown, md, redact)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as fh:
            fh.write(redact(md) + "\n")
    return decision.exit_code


def combine(
    files: Sequence[GateFile], *, loaded: LoadedEnvironment | None = None, phase: Phase | None = None
) -> tuple[Decision, RunInfo, list[Measurement]]:
    environment = loaded.env.name if loaded else _first(files, "environment")
    merged: dict[str, CriterionResult] = {}
    reasons: list[str] = []
    harness: list[str] = []
    counts: dict[str, int] = {}
    for f in files:
        if f.kind == KIND_MEASUREMENTS:
            continue
        for c in f.criteria:
            merged[c.id] = _merge(merged[c.id], c) if c.id in merged else c
        harness += [h for h in f.data.get("harness_errors", []) if h not in harness]
        for outcome, n in f.data.get("counts", {}).items():
            counts[outcome] = counts.get(outcome, 0) + int(n)
        if f.kind == KIND_PYTEST and not f.data.get("tests_executed", 0):
            reasons.append(f"{f.path}: no test ran in that pytest run")
    measurements = [m for f in files if f.kind == KIND_MEASUREMENTS for m in f.measurements]
    if measurements:
        env = loaded.env if loaded else None
        criteria = (
            resolve(base_specs(env.criteria, loaded.path), env.criteria, env.thresholds, where=str(loaded.path))
            if env and loaded
            else _defaults()
        )
        names = {m.name for m in measurements}
        scope = RunScope(environment=environment or "", phases=(phase,) if phase else tuple(Phase))
        for c in evaluate(criteria, scope, measurements=measurements):
            if c.measurement in names:
                merged[c.id] = _merge(merged[c.id], c) if c.id in merged else c
    results = [c for c in merged.values() if phase is None or phase.value in c.phases]
    if not any(c.status.evaluated for c in results):
        reasons.append("no criterion was evaluated in any file")
    decision = decide(results, harness_errors=harness, counts=counts, nothing_verified="; ".join(reasons) or None)
    run_info = RunInfo(
        environment=environment,
        environment_file=str(loaded.path) if loaded else None,
        phase=phase.value if phase else None,
        phases=sorted({p for c in results for p in c.phases}, key=lambda p: Phase(p).order),
        run_id=_first(files, "run_id"),
        target=_first(files, "target"),
        started=time.time(),
        git_commit=_first(files, "git_commit"),
    )
    return decision, run_info, measurements


def _merge(a: CriterionResult, b: CriterionResult) -> CriterionResult:
    """An evaluated result beats an inconclusive one; otherwise the worse status wins, with the stricter action."""
    a_rank = (a.status != Status.INCONCLUSIVE, a.status.severity)
    b_rank = (b.status != Status.INCONCLUSIVE, b.status.severity)
    return replace(
        a if a_rank >= b_rank else b,
        action=max((a.action, b.action), key=lambda x: x.severity),
        required=a.required or b.required,
        tests=sorted(set(a.tests) | set(b.tests)),
        phases=sorted(set(a.phases) | set(b.phases), key=lambda p: Phase(p).order),
    )


def _defaults() -> Any:
    from rollout_gate.config.models import ThresholdsConfig
    from rollout_gate.criteria.models import CriteriaSection

    return resolve(default_specs(), CriteriaSection(), ThresholdsConfig(), where="defaults")


def _first(files: Sequence[GateFile], key: str) -> Any:
    return next((f.data[key] for f in files if f.data.get(key)), None)


def _environment_of(files: Sequence[GateFile]) -> LoadedEnvironment | None:
    """Without --env: the environment file a pytest gate file names, when it exists here."""
    path = _first([f for f in files if f.kind != KIND_MEASUREMENTS], "environment_file")
    if path and Path(path).is_file():
        return load_environment(Path(path), _Placeholders(os.environ))
    return None


def _environment(name: str, environments_dir: Path) -> LoadedEnvironment:
    return load_environment(resolve_path(name, environments_dir), _Placeholders(os.environ))


class _Placeholders(Mapping[str, str]):
    """The real environment, with a placeholder for each unset variable: only criteria and thresholds matter here."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def __getitem__(self, key: str) -> str:
        return self._environ.get(key) or f"unset-{key}"

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        """Only real values: a `${VAR:-default}` keeps its default when VAR is unset."""
        return self._environ.get(key, default)

    def __contains__(self, key: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._environ)

    def __len__(self) -> int:
        return len(self._environ)
