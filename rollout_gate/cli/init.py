"""`rollout-gate init [--dir PATH] [--force] [--dsn URL]`: set up a project (an app's repository) for rollout-gate.

Writes environments/staging.yaml and environments/production.yaml (commented templates: every URL, DSN
and key is a ${VARIABLE}), a root conftest.py that activates the shipped checks (with commented override
points) and .github/workflows/rollout-gate.yml (a GitHub Actions workflow gating a production deploy on
staging). An existing file is never overwritten: it is named, left unchanged, and the others are still
written. With --dsn, the environment templates get the tenancy block `rollout-gate discover` prints for
that database (its catalog read only; the URL is never written or printed). Exit codes: 0 every file
written, 1 some file existed and was left unchanged (--force overwrites it), 4 usage error (--dir is not
a directory, a file cannot be written, the --dsn database cannot be read).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from rollout_gate.cli.discover import DiscoverError, add_dsn_options, discover_block
from rollout_gate.templates import Scaffold, required_variables, scaffolds

USAGE_ERROR = 4
LEFT_UNCHANGED = 1
CHECKS_PLUGIN = "rollout_gate.pytest.checks"
ACTIVATION = f'pytest_plugins = ["{CHECKS_PLUGIN}"]'


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "init",
        help="write environment templates, a conftest.py and a CI workflow into a project",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dir", type=Path, default=Path(), metavar="PATH", help="the project (default: .)")
    parser.add_argument("--force", action="store_true", help="overwrite files that exist")
    add_dsn_options(parser, required=False)
    return parser


def run(args: argparse.Namespace) -> int:
    root: Path = args.dir
    if not root.is_dir():
        print(f"rollout-gate init: error: {root} is not a directory", file=sys.stderr)
        return USAGE_ERROR
    files = scaffolds()
    undecided: list[str] = []
    if args.dsn:
        try:
            block, undecided = discover_block(
                args.dsn, args.schemas, connect_timeout=args.connect_timeout, source=False
            )
        except DiscoverError as exc:
            print(f"rollout-gate init: error: {exc}", file=sys.stderr)
            return USAGE_ERROR
        files = [with_tenancy(s, block) for s in files]
    left = 0
    for scaffold in files:
        path = root / scaffold.path
        try:
            written = _write(path, scaffold.text, force=args.force)
        except OSError as exc:
            print(f"rollout-gate init: error: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
            return USAGE_ERROR
        if written:
            print(f"wrote {scaffold.path}: {scaffold.what}")
        else:
            left += 1
            print(f"rollout-gate init: {scaffold.path} exists, left unchanged ({_hint(path)})", file=sys.stderr)
    _next_steps(files)
    if undecided:
        print(f"  # discovery left these for you to set in the environment files: {', '.join(undecided)}")
    return LEFT_UNCHANGED if left else 0


def with_tenancy(scaffold: Scaffold, block: str) -> Scaffold:
    """An environment template with its `tenancy:` section replaced by `block` (other files unchanged)."""
    if scaffold.path.parent.name != "environments":
        return scaffold
    lines = scaffold.text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith("tenancy:")), None)
    if start is None:
        return replace(scaffold, text=scaffold.text.rstrip("\n") + "\n" + block)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].strip() and not lines[i][0].isspace()), len(lines))
    text = "".join(lines[:start]) + block + "".join(lines[end:])
    return replace(scaffold, text=text, what=f"{scaffold.what}; tenancy discovered from the target")


def _write(path: Path, text: str, *, force: bool) -> bool:
    """Write `text` to `path`; False if something is there already and `force` is not set."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not force:
        try:
            # "x" refuses any existing entry, a dangling symlink too, without a check-then-write race.
            with path.open("x", encoding="utf-8") as out:
                out.write(text)
        except FileExistsError:
            return False
        return True
    if path.is_symlink():
        path.unlink()  # replace the link itself, never write through it to a file this run did not create
    path.write_text(text, encoding="utf-8")
    return True


def _hint(path: Path) -> str:
    if path.name == "conftest.py" and path.is_file():
        try:
            activated = CHECKS_PLUGIN in path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            activated = False
        if activated:
            return "it activates the shipped checks already; --force replaces it"
        return f"add {ACTIVATION} to it, or --force replaces it"
    return "--force overwrites it"


def _next_steps(files: list[Scaffold]) -> None:
    staging = next(s for s in files if s.path.name == "staging.yaml")
    exports = "\n".join(f"  export {name}=..." for name in required_variables(staging.text))
    print(
        "\nNext steps:\n"
        "  pytest --env=local --phase=post-migration   # rehearse on the embedded target ('rollout-gate[local]')\n"
        "  # point environments/staging.yaml at your schema (tenancy:), then set its variables:\n"
        f"{exports}\n"
        "  pytest --env=staging -m smoke               # the shipped smoke checks against staging\n"
        "  # CI: set the secrets and variables listed at the top of .github/workflows/rollout-gate.yml"
    )
