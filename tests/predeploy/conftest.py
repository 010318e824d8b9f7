"""One embedded server for the pre-deploy driver tests, with a seeded v1 target database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rollout_gate.config import load_environment
from rollout_gate.local.cluster import EmbeddedCluster
from rollout_gate.local.target import LocalTarget
from rollout_gate.phases import Phase
from rollout_gate.predeploy.scratch import ScratchServer
from rollout_gate.run import RunContext
from tests.rehearsal import ROOT, SMALL_SCALE


@pytest.fixture(scope="package")
def run() -> Iterator[RunContext]:
    """The run whose embedded server the package's tests share; stopped at the end."""
    context = RunContext.new()
    yield context
    EmbeddedCluster(ROOT / ".rollout", context.run_id, context.owner_pid).stop()


@pytest.fixture(scope="package")
def seeded(run: RunContext) -> Iterator[LocalTarget]:
    """A seeded v1 database at small scale (the pre-deploy state); tests must not change it."""
    loaded = load_environment(ROOT / "environments" / "local.yaml", SMALL_SCALE)
    target = LocalTarget(loaded, project_root=ROOT, run=run, environ={})
    target.advance_to(Phase.PRE_DEPLOY)
    yield target
    target.close()


@pytest.fixture
def scratch(seeded: LocalTarget, request: pytest.FixtureRequest) -> ScratchServer:
    """Scratch databases on the same embedded server, named per test so none collide."""
    worker = request.node.name.replace("[", "_").replace("]", "")[:20]
    return ScratchServer(seeded.info.dsn(), RunContext(seeded.run.run_id, seeded.run.owner_pid, worker))
