"""`rollout-gate locustfile`: print the path of the harness's locustfile (for `locust -f`, Kubernetes, CI)."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    return subparsers.add_parser("locustfile", help="print the path of the harness's locustfile (locust -f …)")


def run(args: argparse.Namespace) -> int:
    from rollout_gate.load import locustfile_path

    print(locustfile_path())
    return 0
