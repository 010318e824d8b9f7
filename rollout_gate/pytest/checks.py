"""Collect the checks shipped with the package next to a project's own tests.

A team activates them once, in its root conftest.py (`rollout-gate init` writes it):

    pytest_plugins = ["rollout_gate.pytest.checks"]

Then `pytest --env=staging` (no paths) collects the project's tests and the shipped suites; naming
paths (`pytest tests/unit`) runs only those, as pytest always does. The shipped tests' node ids are
relative to the suites folder (`smoke/test_smoke.py::test_health`), so `--deselect`, `-k` and `-m`
work on them as on any test.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from rollout_gate.pytest.stash import session_key


def shipped_suites() -> Path:
    """The folder of the shipped suites (in this repository: suites/)."""
    return Path(str(resources.files("rollout_gate.suites")))


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if config.stash.get(session_key, None) is None:
        return  # no environment: the plugin is dormant, and so are its checks
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        return
    suites = shipped_suites().resolve()
    for arg in config.args:
        path = Path(arg.split("::")[0])
        resolved = (path if path.is_absolute() else config.invocation_params.dir / path).resolve()
        if resolved == suites or suites in resolved.parents or resolved in suites.parents:
            return  # already collected (this repository's own testpaths)
    config.args.append(str(suites))
