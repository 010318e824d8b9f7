"""`rollout-gate locust [LOCUST ARGS…]`: Locust with the harness's locustfile and its `--rollout-*` options.

The same as `locust -f "$(rollout-gate locustfile)" …`, except that `--help` also lists the
`--rollout-*` options: Locust prints its help before it imports any locustfile, so plain
`locust -f … --help` cannot show options a locustfile adds.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

HELP = "run Locust with the harness's tenant-aware locustfile (all Locust options, plus --rollout-*)"


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    # Arguments are Locust's: `main` hands them over before argparse sees them (see `run_locust`).
    return subparsers.add_parser("locust", help=HELP, add_help=False)


def run(args: argparse.Namespace) -> int:
    return run_locust([])


def run_locust(locust_args: Sequence[str]) -> int:
    # Imported here: Locust monkey-patches the standard library with gevent on import.
    from locust import main as locust_main

    from rollout_gate.load import (
        locust_hooks,  # noqa: F401  (registers the --rollout-* options first)
        locustfile_path,
    )

    if any(arg in ("-f", "--locustfile") or arg.startswith("--locustfile=") for arg in locust_args):
        print("rollout-gate locust: -f/--locustfile is the harness's own; use `locust -f` for another", file=sys.stderr)
        return 4
    sys.argv = ["locust", "-f", str(locustfile_path()), *locust_args]
    try:
        locust_main.main()
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0
