"""`rollout-gate verdict FILE...`: one verdict from the gate files of a rollout's phases (and a load run's).

It decides over what the environment requires: every phase it enables (post-rollback once
given), each phase's criteria. The environment is `--env`, else the one all files record.
A phase without a finished gate file is INCONCLUSIVE and named; a criterion's worst result
wins; measurements feed criteria only in phases a gate file covers. The exit code is the
verdict's: 0 GO, 1 NO_GO, 10 ROLLBACK, 11 INCONCLUSIVE; 4 for unusable input (docs/gate.md).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from rollout_gate.cli.args import phase_arg
from rollout_gate.cli.verdict_env import environment, environment_for
from rollout_gate.config import ConfigError
from rollout_gate.gate.files import (
    KIND_COMBINED,
    GateFileError,
    gate_payload,
    load_gate_file,
    write_gate_json,
    write_text,
)
from rollout_gate.gate.merge import UNFINISHED_REASON, combine, is_running
from rollout_gate.gate.requirements import requirements
from rollout_gate.gate.verdict import EXIT_CODES, Verdict
from rollout_gate.reporting import text

USAGE_ERROR = 4
# The name an older test imports; `environment` is the one to use.
_environment = environment


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
        help="the environment to decide over (its ${VARS} need not be set); every file must be of it. "
        "Default: the environment the files record, from the environment file they name or --environments-dir",
    )
    parser.add_argument(
        "--environments-dir", type=Path, default=Path("environments"), help="where an environment NAME is looked up"
    )
    parser.add_argument("--phase", type=phase_arg, help="decide over this one phase only")
    parser.add_argument("--output", "-o", type=Path, help="write the combined gate file here")
    parser.add_argument("--markdown", type=Path, help="write the combined verdict as Markdown here")
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        files = [load_gate_file(path) for path in args.files]
        # A run that stopped before it even knew its environment proves nothing: INCONCLUSIVE, not a usage error.
        unfinished = [f for f in files if is_running(f.data) and not f.data.get("environment")]
        if unfinished and not args.env:
            for f in unfinished:
                reasons = "; ".join(str(r) for r in f.data.get("reasons") or []) or UNFINISHED_REASON
                print(f"INCONCLUSIVE: {f.path}: {reasons}")
            return EXIT_CODES[Verdict.INCONCLUSIVE]
        loaded = environment_for(files, args.env, args.environments_dir)
        combined = combine(files, requirements(loaded, args.phase))
    except (GateFileError, ConfigError) as exc:
        print(f"rollout-gate verdict: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    decision, run_info, redact = combined.decision, combined.run, loaded.redact
    for line in text.verdict_lines(decision, run_info):
        print(redact(line))
    sources = [str(f.path) for f in files]
    payload = gate_payload(decision, run_info, kind=KIND_COMBINED, measurements=combined.measurements, sources=sources)
    payload["phases"] = combined.proven
    if args.output:
        write_gate_json(args.output, payload, redact)
    md = text.markdown(decision, run_info)
    if args.markdown:
        write_text(args.markdown, md, redact)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as fh:
            fh.write(redact(md) + "\n")
    return decision.exit_code
