"""Runbook: "All migrations reviewed" / "RLS policies verified", before anything runs."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from rollout_gate.fixtures.predeploy import REPORT_PROPERTY

from rollout_gate.catalog.discover_set import tenancy_for_lint
from rollout_gate.config import ConfigError
from rollout_gate.migrations import sql_files
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
        # Unset in the environment: from the set that creates the tenancy (or the target, where it exists).
        tenant_table, tenant_key = tenancy_for_lint(
            sql_files(rollout_migration_set.migrations), rollout_tenancy, rollout_target_reader
        )
        report = lint_migration_set(
            rollout_migration_set.migrations, rollout_migration_set.rollback, rollout_predeploy_config.lint,
            sizes=read_table_sizes(rollout_target_reader), tenant_key=tenant_key,
            tenant_table=tenant_table, global_tables=rollout_tenancy.global_tables,
            pg_version=str(rollout_target_reader.info.server_version // 10000),
            root=rollout_session.project_root,
        )  # fmt: skip
    except LintUnavailable as exc:
        pytest.skip(str(exc))
    except (LintError, ConfigError) as exc:
        pytest.fail(str(exc), pytrace=False)
    record_property(REPORT_PROPERTY, {"lint": [vars(f) for f in report.findings]})
    print(report.summary(), *map(str, report.warnings), sep="\n")
    failures = report.failures
    assert not failures, f"{len(failures)} failing finding(s): " + "\n".join(map(str, failures))
