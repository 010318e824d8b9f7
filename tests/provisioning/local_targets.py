"""A local target of its own for a test module: a database (and optionally the deployed app) to provision on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from rollout_gate.config import load_environment
from rollout_gate.local.app_server import install
from rollout_gate.local.cluster import EmbeddedCluster
from rollout_gate.local.target import LocalTarget
from rollout_gate.provisioning.config import ProvisioningSql
from rollout_gate.provisioning.model import RUN_PREFIX_ROOT, like_pattern
from rollout_gate.provisioning.sweep import count_rows
from rollout_gate.run import RunContext
from tests.rehearsal import ROOT, SMALL_SCALE


@contextmanager
def local_target(worker: str, *, deploy: bool = False, faults: str = "") -> Iterator[LocalTarget]:
    run = RunContext.new()
    loaded = load_environment(ROOT / "environments" / "local.yaml", SMALL_SCALE)
    target = LocalTarget(loaded, project_root=ROOT, run=RunContext(run.run_id, run.owner_pid, worker), environ={})
    if deploy:
        install(target, environ={"ROLLOUT_APP_FAULTS": faults})
    try:
        yield target
    finally:
        target.close()
        EmbeddedCluster(ROOT / ".rollout", run.run_id, run.owner_pid).stop()


def provisioned_rows(dsn: str, prefix: str = RUN_PREFIX_ROOT) -> dict[str, int]:
    """Rows carrying `prefix`, per kind, counted with the default `provisioning.sql.count` templates."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return count_rows(conn, ProvisioningSql().count, like_pattern(prefix))
