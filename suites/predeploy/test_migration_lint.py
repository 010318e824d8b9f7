"""Runbook: "All migrations reviewed" / "RLS policies verified", before anything runs."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from rollout_gate.fixtures.predeploy import REPORT_PROPERTY

from rollout_gate.predeploy.config import PredeployConfig
from rollout_gate.predeploy.lint import LintError, LintUnavailable, lint_migration_set, read_table_sizes
from rollout_gate.predeploy.sets import MigrationSet
from rollout_gate.pytest.session import RolloutSession

pytestmark = [pytest.mark.predeploy, pytest.mark.criterion("migration_lint")]


def test_migration_set_takes_no_long_lock_and_keeps_every_tenant_table_behind_rls(
    rollout_migration_set: MigrationSet,
    rollout_target_reader: psycopg.Connection[Any],
    rollout_predeploy_config: PredeployConfig,
    rollout_session: RolloutSession,
    record_property: Any,
) -> None:
    rollout_tenancy = rollout_session.loaded.env.tenancy
    try:
        report = lint_migration_set(
            rollout_migration_set.migrations, rollout_migration_set.rollback, rollout_predeploy_config.lint,
            sizes=read_table_sizes(rollout_target_reader), tenant_key=rollout_tenancy.tenant_key,
            tenant_table=rollout_tenancy.tenant_table, global_tables=rollout_tenancy.global_tables,
            pg_version=str(rollout_target_reader.info.server_version // 10000),
            root=rollout_session.project_root,
        )  # fmt: skip
    except LintUnavailable as exc:
        pytest.skip(str(exc))
    except LintError as exc:
        pytest.fail(str(exc), pytrace=False)
    record_property(REPORT_PROPERTY, {"lint": [vars(f) for f in report.findings]})
    print(report.summary(), *map(str, report.warnings), sep="\n")
    failures = report.failures
    assert not failures, f"{len(failures)} failing finding(s): " + "\n".join(map(str, failures))
