"""Runbook: "Environment variables configured" / "Backend version compatible" / "Feature flags configured" /
"Database connection limits increased temporarily"."""

from __future__ import annotations

import os
from typing import Any

import psycopg
import pytest

from rollout_gate.migrations import sql_files
from rollout_gate.predeploy import readiness
from rollout_gate.predeploy.config import PredeployConfig
from rollout_gate.predeploy.sets import MigrationSet
from rollout_gate.pytest.session import RolloutSession

pytestmark = [pytest.mark.predeploy]


@pytest.mark.criterion("readiness")
def test_required_variables_and_secrets_are_set(rollout_predeploy_config: PredeployConfig) -> None:
    required = rollout_predeploy_config.readiness.required_env
    if required is None:
        pytest.skip("predeploy.readiness.required_env is not set: say which variables the deployment needs")
    print(f"{len(required)} required variable(s): {', '.join(required) or '(the environment declares none)'}")
    missing = readiness.missing_variables(required, os.environ)
    assert not missing, f"unset or empty: {', '.join(missing)}"


@pytest.mark.criterion("readiness")
def test_server_version_and_extensions_are_compatible(
    rollout_target_reader: psycopg.Connection[Any],
    rollout_predeploy_config: PredeployConfig,
    rollout_migration_set: MigrationSet,
) -> None:
    config = rollout_predeploy_config.readiness
    facts = readiness.server_facts(rollout_target_reader)
    problems = readiness.server_problems(
        facts, versions=config.server_versions, required_extensions=config.required_extensions,
        created_by_set=readiness.extensions_created(sql_files(rollout_migration_set.migrations)),
    )  # fmt: skip
    print(f"server {facts.version}; extensions: {', '.join(f'{k} {v}' for k, v in sorted(facts.extensions.items()))}")
    assert not problems, "\n".join(problems)


@pytest.mark.criterion("readiness")
def test_connection_headroom(
    rollout_target_reader: psycopg.Connection[Any], rollout_predeploy_config: PredeployConfig
) -> None:
    config = rollout_predeploy_config.readiness
    facts = readiness.server_facts(rollout_target_reader)
    print(f"{facts.in_use} connections in use, {facts.free} free of max_connections {facts.max_connections}")
    problems = readiness.connection_problems(
        facts, min_free=config.min_free_connections, min_free_ratio=config.min_free_ratio
    )
    assert not problems, "\n".join(problems)


@pytest.mark.criterion("readiness_flags")
def test_feature_flags_and_maintenance_mode_are_as_expected(
    rollout_predeploy_config: PredeployConfig, rollout_session: RolloutSession
) -> None:
    flags = rollout_predeploy_config.readiness.flags
    if flags is None or not flags.configured:
        pytest.skip("no flag source configured (predeploy.readiness.flags: url or file)")
    try:
        document = readiness.read_flags(flags, rollout_session.loaded.base_dir)
    except readiness.FlagsUnavailable as exc:
        pytest.fail(rollout_session.loaded.redact(str(exc)), pytrace=False)
    problems = readiness.flag_problems(document, flags.expected)
    assert not problems, rollout_session.loaded.redact("\n".join(problems))
