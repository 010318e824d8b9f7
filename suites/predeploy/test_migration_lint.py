"""Runbook: "All migrations reviewed" / "RLS policies verified", before anything runs."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from fixtures.predeploy import REPORT_PROPERTY
from rollout_gate.predeploy.config import PredeployConfig
from rollout_gate.predeploy.lint import LintError, LintUnavailable, lint_migration_set, read_table_sizes
from rollout_gate.predeploy.sets import MigrationSet
from rollout_gate.session import RolloutSession

pytestmark = [pytest.mark.predeploy, pytest.mark.criterion("migration_lint")]


def test_migration_set_takes_no_long_lock_and_keeps_every_tenant_table_behind_rls(
    migration_set: MigrationSet,
    target_reader: psycopg.Connection[Any],
    predeploy_config: PredeployConfig,
    rollout: RolloutSession,
    record_property: Any,
) -> None:
    tenancy = rollout.loaded.env.tenancy
    try:
        report = lint_migration_set(
            migration_set.migrations, migration_set.rollback, predeploy_config.lint,
            sizes=read_table_sizes(target_reader), tenant_key=tenancy.tenant_key, tenant_table=tenancy.tenant_table,
            global_tables=tenancy.global_tables, pg_version=str(target_reader.info.server_version // 10000),
            root=rollout.project_root,
        )  # fmt: skip
    except LintUnavailable as exc:
        pytest.skip(str(exc))
    except LintError as exc:
        pytest.fail(str(exc), pytrace=False)
    record_property(REPORT_PROPERTY, {"lint": [vars(f) for f in report.findings]})
    print(report.summary(), *map(str, report.warnings), sep="\n")
    failures = report.failures
    assert not failures, f"{len(failures)} failing finding(s): " + "\n".join(map(str, failures))
