"""Runbook: "Zero data loss" after the migration.

Every table is compared against the baseline in full, except the tables `integrity.sampling` names:
those are compared on their key-hash sample, and feed the warning-level `zero_data_loss_sampled`
(the second test: `data_integrity`, which every integrity test feeds, leaves it out by
`feeds.not_criteria`) unless `integrity.sampling.blocking` is true, when they feed `zero_data_loss` itself. Either way
each sampled table is named, with what its sample proves, in the output and in gate.json (findings).
"""

from __future__ import annotations

import psycopg
import pytest

from rollout_gate.config import Environment
from rollout_gate.gate.findings import TABLE, Finding, record
from rollout_gate.integrity.compare import BLOCKING, SAMPLED, compare_for, tables_for
from rollout_gate.integrity.fingerprint import BaselineError, Snapshot
from rollout_gate.integrity.plan import PlanRefused
from rollout_gate.integrity.sampling import RULE, confidence_line


@pytest.mark.integrity
@pytest.mark.criterion("zero_data_loss")
def test_every_pre_migration_row_is_unchanged(
    request: pytest.FixtureRequest,
    rollout_admin_db: psycopg.Connection,
    rollout_target_dsn: str,
    rollout_baseline: Snapshot,
    rollout_env: Environment,
) -> None:
    # rollout_admin_db: the login is checked to see every row (superuser or BYPASSRLS) before comparing.
    _unchanged(request, rollout_target_dsn, rollout_baseline, rollout_env, BLOCKING)


@pytest.mark.integrity
@pytest.mark.criterion("zero_data_loss_sampled")
def test_sampled_tables_are_unchanged_in_their_sample(
    request: pytest.FixtureRequest,
    rollout_admin_db: psycopg.Connection,
    rollout_target_dsn: str,
    rollout_baseline: Snapshot,
    rollout_env: Environment,
) -> None:
    # Not applicable (conftest.py) unless integrity.sampling names tables and is not blocking.
    _unchanged(request, rollout_target_dsn, rollout_baseline, rollout_env, SAMPLED)


def _unchanged(request: pytest.FixtureRequest, dsn: str, baseline: Snapshot, env: Environment, part: str) -> None:
    try:
        diffs = compare_for(env, dsn, baseline, part=part)
    except (PlanRefused, BaselineError) as exc:
        pytest.fail(str(exc), pytrace=False)
    sampled = [name for name in tables_for(env, baseline, part) if baseline.tables[name].sample is not None]
    lines = [confidence_line(name, baseline.tables[name].sample or 0, baseline.tables[name].rows) for name in sampled]
    record(request, [Finding(TABLE, name, RULE, line) for name, line in zip(sampled, lines, strict=True)])
    consistency = f"\n(baseline: {baseline.consistency})" if baseline.consistency else ""
    samples = "\nsampled, not checked row by row:\n" + "\n".join(lines) if lines else ""
    assert not diffs, "data changed by the migration:\n" + "\n".join(map(str, diffs)) + consistency + samples
