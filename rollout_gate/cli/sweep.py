"""`rollout-gate sweep --env NAME [--older-than 2h] [--dry-run]`: delete what killed runs left behind.

Every row a run provisions carries its prefix (`rg-test-<run>-<worker>-...`); this deletes, with the
environment's `provisioning.sql.cleanup` statements, those older than `--older-than` (rows of a run
still in progress are younger). Exit codes: 0 swept (or nothing to do), 4 usage or database error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import psycopg

from rollout_gate.config import ConfigError, load_environment, resolve_path
from rollout_gate.provisioning.model import RUN_PREFIX_ROOT
from rollout_gate.provisioning.sweep import parse_age, sweep

USAGE_ERROR = 4


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sweep",
        help="delete test data that killed runs left behind",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--env", required=True, metavar="NAME|PATH", help="the environment to sweep")
    parser.add_argument(
        "--environments-dir", type=Path, default=Path("environments"), help="where --env NAME is looked up"
    )
    parser.add_argument("--older-than", default="2h", type=_age, help="only rows older than this (default 2h)")
    parser.add_argument("--prefix", default=RUN_PREFIX_ROOT, help=f"only this prefix (default {RUN_PREFIX_ROOT})")
    parser.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    return parser


def _age(value: str) -> Any:
    try:
        return parse_age(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    try:
        loaded = load_environment(resolve_path(args.env, args.environments_dir))
    except ConfigError as exc:
        print(f"rollout-gate sweep: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    env = loaded.env
    target = env.target
    secret = target.admin_database_url or target.database_url
    if secret is None:
        print(f"rollout-gate sweep: error: {loaded.path}: target.database_url is not set", file=sys.stderr)
        return USAGE_ERROR
    if not env.safety.allow_writes and not args.dry_run:
        print(f"rollout-gate sweep: error: {env.name} forbids writes (safety.allow_writes: false)", file=sys.stderr)
        return USAGE_ERROR
    sql = env.provisioning.sql
    # Load rows live in real tenants (the pool's users' own organizations): swept by their note's prefix.
    cleanup = [*sql.cleanup, *([env.load.sweep_sql] if env.load.sweep_sql else [])]
    count = [*sql.count, *([env.load.count_sql] if env.load.count_sql else [])]
    try:
        result = sweep(
            secret.get_secret_value(),
            cleanup,
            count,
            older_than=args.older_than,
            prefix=args.prefix,
            dry_run=args.dry_run,
            connect_timeout=target.connect_timeout,
        )
    except (ValueError, psycopg.Error) as exc:
        print(loaded.redact(f"rollout-gate sweep: error: {str(exc).strip().splitlines()[0]}"), file=sys.stderr)
        return USAGE_ERROR
    found = ", ".join(f"{n} {what}" for what, n in result.before.items()) or "nothing"
    left = ", ".join(f"{n} {what}" for what, n in result.after.items() if n) or "nothing"
    if any(result.after.values()) and not args.dry_run:
        left += " (younger than the cutoff: a run in progress, or run again with a shorter --older-than)"
    verb = "would delete rows older than" if args.dry_run else "deleted rows older than"
    print(f"sweep {env.name}: {args.prefix}*: found {found}; {verb} {args.older_than}; left {left}")
    for line in result.skipped:
        print(f"  skipped: {line}")
    return 0
