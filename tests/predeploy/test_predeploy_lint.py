"""Migration lint: Squawk's findings through the documented mapping, and the multi-tenant rules."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from predeploy_testing import DATA, REFERENCE_MIGRATIONS, REFERENCE_ROLLBACK

from rollout_gate.predeploy import sqltext
from rollout_gate.predeploy.config import LintConfig
from rollout_gate.predeploy.lint import (
    SQUAWK_RULES,
    LintError,
    LintReport,
    TableSizes,
    classify,
    lint_migration_set,
)
from tests.rehearsal import ROOT

# What the seeded local target holds at the default scale (300 users, 100k rows).
LOCAL = TableSizes(
    {
        "public.clients": (2_000, 1 << 20),
        "public.projects": (8_000, 2 << 20),
        "public.time_entries": (90_000, 20 << 20),
    },
    rls_enabled=frozenset({"public.clients", "public.projects", "public.time_entries", "public.profiles"}),
)
# The same tables at production size.
LARGE = TableSizes(
    {name: (rows * 100, size * 100) for name, (rows, size) in LOCAL.tables.items()}, {}, LOCAL.rls_enabled
)


def lint(
    migrations: Path, rollback: Path | None = None, sizes: TableSizes | None = LOCAL, **config: object
) -> LintReport:
    return lint_migration_set(
        migrations, rollback, LintConfig.model_validate(config), sizes=sizes, tenant_key="organization_id",
        tenant_table="public.organizations", global_tables=["public.profiles"], pg_version="18", root=ROOT,
    )  # fmt: skip


def migration_set(tmp_path: Path, files: dict[str, str], rollback: dict[str, str] | None = None) -> tuple[Path, Path]:
    migrations, back = tmp_path / "migrations", tmp_path / "rollback"
    migrations.mkdir(parents=True)
    back.mkdir(parents=True)
    for name, text in files.items():
        (migrations / name).write_text(textwrap.dedent(text))
    for name, text in (rollback if rollback is not None else {"0001_down.sql": "select 1;\n"}).items():
        (back / name).write_text(textwrap.dedent(text))
    return migrations, back


def rules(report: LintReport, severity: str = "fail") -> set[str]:
    return {f.rule for f in report.findings if f.severity == severity}


def test_reference_set_passes_with_its_scan_locks_as_warnings() -> None:
    report = lint(REFERENCE_MIGRATIONS, REFERENCE_ROLLBACK)
    assert not report.failures, "\n".join(map(str, report.failures))
    index_warnings = [f for f in report.warnings if f.rule == "require-concurrent-index-creation"]
    assert {f.line for f in index_warnings} == {9, 15, 21}  # 1-based lines of 0003's CREATE INDEX
    assert any("public.time_entries: ~90,000 rows" in f.why for f in index_warnings)


def test_reference_set_would_fail_on_production_sized_tables() -> None:
    """Honest about the reference set: its 0003 builds indexes and validates keys under write-blocking locks."""
    report = lint(REFERENCE_MIGRATIONS, REFERENCE_ROLLBACK, sizes=LARGE)
    assert {"require-concurrent-index-creation", "adding-not-nullable-field", "adding-foreign-key-constraint"} <= rules(
        report
    )


def test_blocking_index_on_a_large_table_fails() -> None:
    small_table_limit = lint(
        DATA / "blocking_index/migrations", DATA / "blocking_index/rollback", large_table_rows=50_000
    )
    failure = next(f for f in small_table_limit.failures if f.rule == "require-concurrent-index-creation")
    assert failure.file.endswith("0001_time_entries_by_start.sql") and failure.line == 3
    assert "public.time_entries: ~90,000 rows" in failure.why
    assert not lint(DATA / "blocking_index/migrations", DATA / "blocking_index/rollback").failures
    assert lint(
        DATA / "blocking_index/migrations", DATA / "blocking_index/rollback", large_table_bytes=10 << 20
    ).failures


def test_size_rules_fail_when_the_table_size_is_unknown() -> None:
    report = lint(DATA / "blocking_index/migrations", DATA / "blocking_index/rollback", sizes=None)
    assert "require-concurrent-index-creation" in rules(report)
    assert "assumed large" in report.failures[0].why


def test_changes_that_break_running_v1_code_fail_at_any_size(tmp_path: Path) -> None:
    migrations, back = migration_set(
        tmp_path,
        {
            "0001_required.sql": "alter table public.clients add column region text not null;\n",
            "0002_type.sql": "alter table public.projects alter column hourly_rate type numeric(12, 2);\n",
            "0003_rename.sql": "alter table public.clients rename column email to contact_email;\n",
            "0004_drop.sql": "alter table public.time_entries drop column note;\n",
        },
    )
    assert {"adding-required-field", "changing-column-type", "renaming-column", "ban-drop-column"} <= rules(
        lint(migrations, back)
    )


def test_unmapped_and_style_rules_warn_and_overrides_apply(tmp_path: Path) -> None:
    migrations, back = migration_set(tmp_path, {"0001.sql": "alter table public.clients add column n int;\n"})
    report = lint(migrations, back)
    assert "prefer-bigint-over-int" in rules(report, "warn") and not report.failures
    assert "prefer-bigint-over-int" in rules(lint(migrations, back, severity={"prefer-bigint-over-int": "fail"}))
    assert "prefer-bigint-over-int" not in rules(lint(migrations, back, exclude=["prefer-bigint-over-int"]), "warn")
    assert "prefer-bigint-over-int" not in rules(
        lint(migrations, back, severity={"prefer-bigint-over-int": "off"}), "warn"
    )
    assert classify("some-future-rule", None, LOCAL, LintConfig()) == ("warn", "not in the mapping")


def test_an_unknown_rule_name_in_the_config_is_an_error_not_a_pass(tmp_path: Path) -> None:
    migrations, back = migration_set(tmp_path, {"0001.sql": "select 1;\n"})
    with pytest.raises(LintError, match="no-such-rule"):
        lint(migrations, back, exclude=["no-such-rule"])


def test_new_tenant_table_must_enable_rls_within_the_set(tmp_path: Path) -> None:
    create = """
        create table public.tags (
            id uuid primary key default gen_random_uuid(),
            organization_id uuid not null references public.organizations,
            name text not null
        );
    """
    missing, back = migration_set(tmp_path / "missing", {"0001_tags.sql": create})
    finding = next(f for f in lint(missing, back).failures if f.rule == "tenant-table-without-rls")
    assert "public.tags" in finding.message and finding.line == 2
    later, back = migration_set(
        tmp_path / "later",
        {"0001_tags.sql": create, "0002_rls.sql": "alter table public.tags enable row level security;\n"},
    )
    assert "tenant-table-without-rls" not in rules(lint(later, back))


def test_existing_table_gaining_the_tenant_key_needs_rls_on_the_target_or_in_the_set(tmp_path: Path) -> None:
    migrations, back = migration_set(
        tmp_path, {"0001.sql": "alter table public.invoices add column organization_id uuid;\n"}
    )
    assert "tenant-table-without-rls" in rules(lint(migrations, back))
    with_rls = TableSizes({"public.invoices": (10, 8192)}, rls_enabled=frozenset({"public.invoices"}))
    assert "tenant-table-without-rls" not in rules(lint(migrations, back, sizes=with_rls))


def test_disabling_rls_fails_in_migrations_and_rollbacks_but_not_in_comments(tmp_path: Path) -> None:
    migrations, back = migration_set(
        tmp_path,
        {"0001.sql": "-- never: alter table x disable row level security;\nselect 'disable row level security';\n"},
        {"0001_down.sql": "alter table public.clients disable row level security;\n"},
    )
    [finding] = [f for f in lint(migrations, back).findings if f.rule == "disable-row-level-security"]
    assert finding.file.endswith("rollback/0001_down.sql") and "public.clients" in finding.message


def test_a_migration_set_without_rollback_fails(tmp_path: Path) -> None:
    migrations, back = migration_set(tmp_path, {"0001.sql": "select 1;\n"}, rollback={})
    assert "rollback-missing" in rules(lint(migrations, back))
    assert "rollback-missing" in rules(lint(migrations, None))


def test_statement_splitter_ignores_semicolons_in_comments_strings_and_bodies() -> None:
    sql = textwrap.dedent(
        """\
        -- a comment; with a semicolon
        create function f() returns text language sql as $body$ select 'x;y' $body$;
        /* nested /* block; */ comment */ select E'it\\'s;', "odd;name" from t;
        alter table "Public"."My Table" add column "Organization_Id" uuid, add constraint c check (true);
        """
    )
    statements = sqltext.split_statements(sql)
    assert [s.line for s in statements] == [2, 3, 4]
    assert sqltext.altered_table(statements[2]) == "Public.My Table"
    assert sqltext.column_names(statements[2]) == {"Organization_Id"}
    assert sqltext.relation_name("time_entries") == "public.time_entries"


def test_docs_table_lists_exactly_the_mapping() -> None:
    """docs/predeploy.md is the documented mapping: it must say what the code does."""
    text = (ROOT / "docs" / "predeploy.md").read_text()
    documented = dict(re.findall(r"^\| `([a-z-]+)` \| (fail|warn|size) \|", text, re.M))
    assert documented == {rule: severity for rule, (severity, _why) in SQUAWK_RULES.items()}


def test_a_size_rule_on_an_index_is_judged_by_its_table(tmp_path: Path) -> None:
    migrations, back = migration_set(tmp_path, {"0001.sql": "reindex index public.time_entries_user_id_idx;\n"})
    sizes = TableSizes(LARGE.tables, {"public.time_entries_user_id_idx": "public.time_entries"}, LARGE.rls_enabled)
    [finding] = [f for f in lint(migrations, back, sizes=sizes).findings if f.rule == "require-concurrent-reindex"]
    assert finding.severity == "fail" and "public.time_entries: ~9,000,000 rows" in finding.why
