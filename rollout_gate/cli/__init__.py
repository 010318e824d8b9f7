"""The `rollout-gate` command. Each subcommand lives in its own module and registers itself in `SUBCOMMANDS`.

To add one (e.g. `sweep`), write `rollout_gate/cli/sweep.py` with
`add_parser(subparsers) -> argparse.ArgumentParser` and `run(args) -> int`, and list it below.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module
from typing import NoReturn

from rollout_gate import __version__

# name -> module under rollout_gate.cli
SUBCOMMANDS = {
    "init": "rollout_gate.cli.init",
    "discover": "rollout_gate.cli.discover",
    "local": "rollout_gate.cli.local",
    "verdict": "rollout_gate.cli.verdict",
    "sweep": "rollout_gate.cli.sweep",
    "locust": "rollout_gate.cli.locust",
    "locustfile": "rollout_gate.cli.locustfile",
}
USAGE_ERROR = 4  # as pytest's: 0/1/10/11 are verdicts, 2/3 are pytest's interrupted / internal error


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rollout-gate", description="rollout-gate: go/no-go decisions for a multi-tenant rollout")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser, required=True)
    for name, module in SUBCOMMANDS.items():
        sub = import_module(module).add_parser(subparsers)
        sub.set_defaults(_module=module, _name=name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["locust"]:  # every further argument is Locust's, --help included
        from rollout_gate.cli.locust import run_locust

        return run_locust(argv[1:])
    args = build_parser().parse_args(argv)
    code: int = import_module(args._module).run(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
