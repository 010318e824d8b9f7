"""Shared fixtures of the harness's own tests."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.embedded import EmbeddedServer
from tests.rehearsal import ROOT

pytest_plugins = ["pytester"]

REMOTE_ENV = """
name: {name}
kind: remote
target:
  base_url: http://127.0.0.1:9
  database_url: ${{RG_TEST_DSN:-postgresql://rg:s3cret-pass@127.0.0.1:9/app}}
  connect_timeout: 1
  app: reference
safety:
  allow_writes: {allow_writes}
"""


class RolloutProject:
    """A throwaway project for pytester: an ini, environment files, and test modules."""

    def __init__(self, pytester: pytest.Pytester) -> None:
        self.pytester = pytester
        pytester.makeini(
            """
            [pytest]
            addopts = --strict-markers -p no:cacheprovider -p no:playwright
            """
        )
        self.envs = pytester.mkdir("environments")
        self.env("staging")

    def env(self, name: str, text: str | None = None, *, allow_writes: bool = False) -> Path:
        body = text if text is not None else REMOTE_ENV.format(name=name, allow_writes=str(allow_writes).lower())
        path = self.envs / f"{name}.yaml"
        path.write_text(textwrap.dedent(body))
        return path

    @property
    def reports(self) -> Path:
        return self.pytester.path / "reports"


@pytest.fixture
def rollout_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> RolloutProject:
    """A pytester project wired for the rollout plugin (entry point), with a `staging` remote environment."""
    for var in ("PYTEST_ADDOPTS", "ROLLOUT_ENV", "ROLLOUT_PHASE", "ROLLOUT_MIGRATIONS_DIR", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(var, raising=False)
    return RolloutProject(pytester)


@pytest.fixture(scope="session")
def embedded_server() -> Iterator[EmbeddedServer]:
    """This process's embedded PostgreSQL (one per xdist worker), started on first use, stopped at session end."""
    server = EmbeddedServer(ROOT / ".rollout")
    try:
        yield server
    finally:
        server.stop()


# Self-tests whose verdict depends on wall-clock timing or on how many requests a bounded load run
# completes (p95, sample minimums, windows, "within one connect timeout"). `make test` runs them on
# their own after the rest, which runs under pytest-xdist: contention from parallel rehearsals would
# starve them and make their result say something about the machine instead of the harness.
TIMING_MODULES = frozenset(
    {
        "tests/app/test_app_process.py",
        "tests/auth/test_load_sign_in.py",
        "tests/db/test_bounded_rehearsal.py",
        "tests/db/test_sessions.py",
        "tests/httponly/test_http_only_load.py",
        "tests/load/test_load_phase.py",
        "tests/load/test_load_remote.py",
        "tests/load/test_locust_lifecycle.py",
        "tests/resources/test_declared_load_mix.py",
        "tests/test_sigterm.py",
        "tests/watch/test_watch_local.py",
        "tests/watch/test_watch_remote.py",
    }
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "timing: a self-test whose result depends on wall-clock time or throughput")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(str(config.rootpath))
    for item in items:
        if item.path.relative_to(root).as_posix() in TIMING_MODULES:
            item.add_marker(pytest.mark.timing)
