"""The criteria file: shipped defaults from the runbooks, environment overrides, phase rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollout_gate.config import ConfigError, load_environment
from rollout_gate.config.models import ThresholdsConfig
from rollout_gate.criteria.models import Action, CriteriaSection
from rollout_gate.criteria.resolve import CriteriaSet, default_specs, resolve
from rollout_gate.phases import Phase

REPO = Path(__file__).resolve().parents[2]


def defaults(section: CriteriaSection | None = None, thresholds: ThresholdsConfig | None = None) -> CriteriaSet:
    return resolve(default_specs(), section or CriteriaSection(), thresholds or ThresholdsConfig(), where="env.yaml")


def test_defaults_cover_the_runbooks() -> None:
    criteria = defaults()
    ids = {c.id for c in criteria}
    assert {"smoke", "e2e_critical_flows", "zero_data_loss", "no_orphans", "every_user_has_workspace"} <= ids
    assert {
        "rls_coverage",
        "zero_cross_tenant_access",
        "migration_lint",
        "rollback_rehearsal",
        "backup_verified",
    } <= ids
    assert {"load_p95", "load_error_rate", "load_error_rate_sustained", "load_login_failure_rollback"} <= ids
    assert all(c.runbook and c.title and c.phases for c in criteria)
    # Every phase has criteria, and the criteria the suites in the repo name exist.
    assert {p for c in criteria for p in c.phases} == set(Phase)
    for marker_id in ("baseline_recorded", "zero_data_loss", "rollback_restores_v1"):
        assert criteria.get(marker_id) is not None


@pytest.mark.parametrize(
    ("criterion_id", "threshold", "action", "min_samples"),
    [
        ("load_p95", "< 500 ms", Action.NO_GO, 100),
        ("load_error_rate", "< 0.01", Action.NO_GO, 100),
        ("load_error_rate_warn", "<= 0.05", Action.WARN, 100),
        ("load_error_rate_sustained", "<= 0.1", Action.ROLLBACK, 100),
        ("load_login_failure_warn", "< 0.05", Action.WARN, 1),
        ("load_login_failure_rollback", "<= 0.1", Action.ROLLBACK, 1),
        ("load_cross_tenant_hits", "== 0", Action.ROLLBACK, 100),
    ],
)
def test_load_thresholds_are_the_runbooks(criterion_id: str, threshold: str, action: Action, min_samples: int) -> None:
    c = defaults().get(criterion_id)
    assert c is not None
    assert (c.threshold, c.action, c.min_samples) == (threshold, action, min_samples)


def test_environment_thresholds_feed_the_defaults() -> None:
    c = defaults(thresholds=ThresholdsConfig(p95_ms=800, min_requests=20)).get("load_p95")
    assert c is not None and (c.limit, c.min_samples) == (800.0, 20)


@pytest.mark.parametrize(
    ("criterion_id", "environment", "phases", "action"),
    [
        ("zero_cross_tenant_access", "staging", [Phase.POST_MIGRATION], Action.NO_GO),
        ("zero_cross_tenant_access", "staging", [Phase.POST_DEPLOY], Action.NO_GO),
        ("zero_cross_tenant_access", "production", [Phase.POST_MIGRATION], Action.ROLLBACK),
        ("zero_cross_tenant_access", "production", [Phase.POST_DEPLOY], Action.ROLLBACK),
        ("rls_coverage", "production", [Phase.POST_MIGRATION], Action.ROLLBACK),
        ("rls_coverage", "staging", [Phase.POST_MIGRATION], Action.NO_GO),
        ("zero_data_loss", "staging", [Phase.POST_MIGRATION], Action.NO_GO),
        ("zero_data_loss", "production", [Phase.POST_MIGRATION], Action.ROLLBACK),
        ("smoke", "production", [Phase.POST_DEPLOY], Action.ROLLBACK),
        ("smoke", "staging", [Phase.POST_DEPLOY], Action.NO_GO),
    ],
)
def test_phase_and_environment_change_the_action(
    criterion_id: str, environment: str, phases: list[Phase], action: Action
) -> None:
    c = defaults().get(criterion_id)
    assert c is not None and c.action_for(environment, phases) == action


def test_environment_section_overrides_disables_adds_and_adds_rules() -> None:
    section = CriteriaSection.model_validate(
        {
            "disable": ["e2e_critical_flows"],
            "optional": ["backup_verified"],
            "override": {"load_p95": {"threshold": "< 750", "action": "warn"}},
            "rules": [{"criteria": ["no_orphans"], "phases": ["post-migration"], "action": "rollback"}],
            "add": [
                {
                    "id": "invitations_single_use",
                    "title": "An invitation link works once",
                    "phases": ["post-deploy"],
                    "feeds": {"criteria": ["invites"]},
                }
            ],
        }
    )
    criteria = defaults(section)
    assert criteria.get("e2e_critical_flows") is None
    assert [c.id for c in criteria.disabled] == ["e2e_critical_flows"]
    assert criteria.get("backup_verified").required is False  # type: ignore[union-attr]
    p95 = criteria.get("load_p95")
    assert p95 is not None and (p95.threshold, p95.action) == ("< 750 ms", Action.WARN)
    orphans = criteria.get("no_orphans")
    assert orphans is not None and orphans.action_for("staging", [Phase.POST_MIGRATION]) == Action.ROLLBACK
    added = criteria.get("invitations_single_use")
    assert added is not None and added.criteria_ids == {"invitations_single_use", "invites"}
    # Tests of a disabled criterion feed nothing, not even an implicit criterion.
    assert criteria.feeding(["e2e_critical_flows"], ["e2e"]) == ([], [])


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"disable": ["smok"]}, "env.yaml: criteria.disable: unknown criterion smok (known: "),
        ({"override": {"nope": {"action": "warn"}}}, "env.yaml: criteria.override: unknown criterion nope"),
        ({"rules": [{"criteria": ["x"], "action": "rollback"}]}, "env.yaml: criteria.rules: unknown criterion x"),
        (
            {"add": [{"id": "smoke", "title": "again", "phases": ["post-deploy"]}]},
            "env.yaml: criteria.add: criterion smoke already exists (use criteria.override)",
        ),
        (
            {"override": {"load_p95": {"threshold": "< thresholds.p99_ms"}}},
            "env.yaml: criterion load_p95: thresholds.p99_ms is not a threshold (known: p95_ms, ",
        ),
    ],
)
def test_section_mistakes_are_one_line_errors(section: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        defaults(CriteriaSection.model_validate(section))
    assert str(exc.value).startswith(message)


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("criteria:\n  overide: {}\n", "criteria.overide: unknown key"),
        ("criteria:\n  override:\n    load_p95: {threshold: 'about 500'}\n", "criteria.override.load_p95.threshold"),
        ("criteria:\n  rules:\n    - {criteria: [smoke], action: abort}\n", "criteria.rules.0.action"),
    ],
)
def test_environment_file_criteria_section_is_validated(tmp_path: Path, yaml_text: str, message: str) -> None:
    path = tmp_path / "env.yaml"
    path.write_text("kind: remote\n" + yaml_text)
    with pytest.raises(ConfigError) as exc:
        load_environment(path, environ={})
    assert message in str(exc.value)


def test_shipped_environments_load_with_their_criteria() -> None:
    environ = {n: "postgresql://u:p@h/db" for n in ("STAGING_DATABASE_URL", "PRODUCTION_DATABASE_URL")}
    environ |= {"STAGING_BASE_URL": "https://s.example", "PRODUCTION_BASE_URL": "https://p.example"}
    for name in ("local", "staging", "production"):
        loaded = load_environment(REPO / "environments" / f"{name}.yaml", environ=environ)
        defaults(loaded.env.criteria, loaded.env.thresholds)
