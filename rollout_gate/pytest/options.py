"""Command-line options of the rollout plugin, one group, with type functions that fail as usage errors."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from rollout_gate.phases import Phase, parse_phase

ENV_VAR = "ROLLOUT_ENV"
PHASE_VAR = "ROLLOUT_PHASE"
DEFAULT_ENV = "local"


def _phase_type(value: str) -> Phase:
    try:
        return parse_phase(value)
    except ValueError as exc:
        raise pytest.UsageError(f"--phase: {exc}") from None


def _env_type(value: str) -> str:
    if not value.strip():
        raise pytest.UsageError("--env: give an environment name (environments/NAME.yaml) or a path to a YAML file")
    return value.strip()


def addoptions(parser: pytest.Parser) -> None:
    group = parser.getgroup("rollout", "rollout-gate: rollout verification")
    group.addoption(
        "--env",
        dest="rollout_env",
        type=_env_type,
        default=None,
        metavar="NAME|PATH",
        help=f"environment to verify: environments/NAME.yaml or a YAML path (default: ${ENV_VAR} or '{DEFAULT_ENV}')",
    )
    group.addoption(
        "--phase",
        dest="rollout_phase",
        # Checked in pytest_configure (resolve_phase), not by argparse: a usage error there still replaces
        # an earlier run's gate file, while one raised during parsing happens before any plugin hook runs.
        default=None,
        metavar="PHASE",
        help="run only this rollout phase: " + ", ".join(p.value for p in Phase) + f" (default: ${PHASE_VAR} or all)",
    )
    group.addoption(
        "--report-dir",
        dest="rollout_report_dir",
        default=None,
        metavar="DIR",
        help="where gate files and allure-results/ go (default: reports/ under the project root)",
    )
    group.addoption(
        "--baseline",
        dest="rollout_baseline",
        default=None,
        metavar="FILE",
        help="pre-deploy data baseline to write or compare against (default: REPORT_DIR/baseline.json)",
    )
    parser.addini("rollout_environments_dir", "directory of environment files", default="environments")


@dataclass(frozen=True)
class Resolved:
    """A setting's value and where it came from, for the report header."""

    value: str | None
    source: str


def resolve_env(config: pytest.Config) -> Resolved:
    cli = config.getoption("rollout_env")
    if cli:
        return Resolved(cli, "--env")
    if os.environ.get(ENV_VAR):
        return Resolved(_env_type(os.environ[ENV_VAR]), ENV_VAR)
    return Resolved(DEFAULT_ENV, "default")


def resolve_phase(config: pytest.Config) -> tuple[Phase | None, str]:
    cli = config.getoption("rollout_phase")
    if cli:
        return _phase_type(cli), "--phase"
    if os.environ.get(PHASE_VAR):
        return _phase_type(os.environ[PHASE_VAR]), PHASE_VAR
    return None, "all enabled phases"


def report_dir(config: pytest.Config) -> Path:
    value = config.getoption("rollout_report_dir")
    return Path(value).resolve() if value else config.rootpath / "reports"


# Options that show something and run no test: such a session writes no verdict and touches no report.
INFO_OPTIONS = ("showfixtures", "show_fixtures_per_test", "collectonly", "markers", "help", "version")


def is_info_run(config: pytest.Config) -> bool:
    return any(getattr(config.option, name, False) for name in INFO_OPTIONS)
