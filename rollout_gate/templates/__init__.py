"""The files `rollout-gate init` writes into a team's repository, and where each one comes from.

The environment templates are the package's own `rollout_gate.environments` files (in this repository,
environments/staging.yaml and production.yaml), so there is one text of them; the root conftest.py and
the GitHub Actions workflow are resources of this package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import PurePosixPath
from typing import Any

import yaml

from rollout_gate import __version__

# In the workflow template, the version the written workflow pins by default (the one that wrote it).
VERSION_PLACEHOLDER = "__ROLLOUT_GATE_VERSION__"
_REQUIRED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Scaffold:
    """One file to write: its path relative to the project and its text."""

    path: PurePosixPath
    text: str
    what: str


def _read(package: str, name: str) -> str:
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")


def scaffolds() -> list[Scaffold]:
    """The files of a project set up for rollout-gate, in the order they are written."""
    workflow = _read(__name__, "github-workflow.yml").replace(VERSION_PLACEHOLDER, __version__)
    return [
        Scaffold(
            PurePosixPath("environments/staging.yaml"),
            _read("rollout_gate.environments", "staging.yaml"),
            "staging: every URL, DSN and key from a variable",
        ),
        Scaffold(
            PurePosixPath("environments/production.yaml"),
            _read("rollout_gate.environments", "production.yaml"),
            "production: observe only (no writes, no load)",
        ),
        Scaffold(
            PurePosixPath("conftest.py"),
            _read(__name__, "conftest.py.template"),
            "activates the shipped checks; override points",
        ),
        Scaffold(
            PurePosixPath(".github/workflows/rollout-gate.yml"),
            workflow,
            "gates a production deploy on staging",
        ),
    ]


def required_variables(text: str) -> list[str]:
    """The variables an environment template needs set (`${NAME}` without a `:-default`), in file order."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            found.extend(_REQUIRED.findall(value))

    walk(yaml.safe_load(text))
    return list(dict.fromkeys(found))
