"""Migration lint: Squawk's findings mapped to fail/warn, plus the multi-tenant rules.

The mapping (documented in docs/predeploy.md, which a test keeps in step with `SQUAWK_RULES`):
`fail` for changes that break the running v1 code or cannot run under our per-file
transactions, `size` for locks held while a table is scanned or rewritten (fail when the
table is large on the target, warn otherwise), `warn` for everything else, including any
rule Squawk adds later: it is listed, never silently dropped.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import psycopg

from rollout_gate.errors import HarnessError
from rollout_gate.migrations import sql_files
from rollout_gate.predeploy import sqltext
from rollout_gate.predeploy.config import LintConfig, Severity

# rule -> (severity, why); see the module docstring.
SQUAWK_RULES: dict[str, tuple[Severity, str]] = {
    # Break the running v1 code, lose data, or fail under the runner's per-file transaction.
    "adding-required-field": ("fail", "v1 inserts that do not name the column start failing"),
    "changing-column-type": ("fail", "rewrites the table under ACCESS EXCLUSIVE; v1 code may break"),
    "renaming-column": ("fail", "v1 code still uses the old name"),
    "renaming-table": ("fail", "v1 code still uses the old name"),
    "renaming-object": ("fail", "v1 code still uses the old name"),
    "ban-set-schema": ("fail", "v1 code still uses the old name"),
    "ban-drop-column": ("fail", "v1 code may still read it; its data is lost (drop in a later release)"),
    "ban-drop-table": ("fail", "v1 code may still read it; its data is lost (drop in a later release)"),
    "ban-drop-database": ("fail", "destroys data"),
    "ban-drop-schema": ("fail", "v1 code may still use it"),
    "ban-drop-view": ("fail", "v1 code may still use it"),
    "ban-drop-function": ("fail", "v1 code may still use it"),
    "ban-drop-type": ("fail", "v1 code may still use it"),
    "ban-drop-sequence": ("fail", "v1 code may still use it"),
    "ban-drop-domain": ("fail", "v1 code may still use it"),
    "ban-truncate-cascade": ("fail", "deletes data in every referencing table"),
    "transaction-nesting": ("fail", "the runner already wraps each file in a transaction"),
    "ban-uncommitted-transaction": ("fail", "the runner already wraps each file in a transaction"),
    "ban-concurrent-index-creation-in-transaction": ("fail", "CONCURRENTLY cannot run inside the file's transaction"),
    "syntax-error": ("fail", "the file does not parse"),
    # Hold a lock while the whole table is scanned or rewritten: fail on a large table.
    "require-concurrent-index-creation": ("size", "blocks writes for the whole index build"),
    "require-concurrent-reindex": ("size", "blocks writes (and reads of the index) for the whole rebuild"),
    "adding-not-nullable-field": ("size", "SET NOT NULL scans the table under ACCESS EXCLUSIVE"),
    "constraint-missing-not-valid": ("size", "validates every row while blocking writes"),
    "adding-foreign-key-constraint": ("size", "scans the table under SHARE ROW EXCLUSIVE on both tables"),
    "disallowed-unique-constraint": ("size", "builds a unique index under ACCESS EXCLUSIVE"),
    "adding-field-with-default": ("size", "a volatile or generated default rewrites the table"),
    "adding-serial-primary-key-field": ("size", "builds the key's index under ACCESS EXCLUSIVE"),
    "prefer-repack": ("size", "VACUUM FULL / CLUSTER rewrite the table under ACCESS EXCLUSIVE"),
    "require-concurrent-partition-detach": ("size", "blocks the parent table while detaching"),
    # Reviewed, reported, not blocking.
    "require-concurrent-index-deletion": ("warn", "a short ACCESS EXCLUSIVE lock; queues behind long queries"),
    "require-lock-timeout": ("warn", "a lock wait can queue all traffic behind it"),
    "require-statement-timeout": ("warn", "a slow statement has no upper bound"),
    "require-timeout-settings": ("warn", "a lock wait can queue all traffic behind it"),
    "prefer-robust-stmts": ("warn", "a rerun after a partial failure stops at the first statement"),
    "ban-drop-not-null": ("warn", "v1 readers may assume the column is set"),
    "ban-drop-constraint": ("warn", "removes a guarantee v1 code may rely on"),
    "ban-drop-index": ("warn", "queries may slow down"),
    "prefer-bigint-over-int": ("warn", "style"),
    "prefer-bigint-over-smallint": ("warn", "style"),
    "prefer-identity": ("warn", "style"),
    "prefer-text-field": ("warn", "style"),
    "prefer-timestamp-tz": ("warn", "style"),
    "ban-char-field": ("warn", "style"),
    "require-enum-value-ordering": ("warn", "style"),
    "identifier-too-long": ("warn", "PostgreSQL truncates the name"),
}
UNMAPPED: tuple[Severity, str] = ("warn", "not in the mapping")

# Our own rules (source "rollout"); all fail.
TENANT_TABLE_WITHOUT_RLS = "tenant-table-without-rls"
DISABLE_RLS = "disable-row-level-security"
ROLLBACK_MISSING = "rollback-missing"
ROLLOUT_RULES = {
    TENANT_TABLE_WITHOUT_RLS: "a table with the tenant key must enable RLS within the same migration set",
    DISABLE_RLS: "no migration or rollback may disable row level security",
    ROLLBACK_MISSING: "every migration set ships a rollback set",
}


class LintUnavailable(HarnessError):
    """The linter cannot run here (not installed); the check is inconclusive."""


class LintError(HarnessError):
    """The linter ran but failed (bad option, crash): the check fails."""


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    rule: str
    severity: Literal["fail", "warn"]
    message: str
    source: Literal["squawk", "rollout"] = "squawk"
    why: str = ""

    def __str__(self) -> str:
        why = f" ({self.why})" if self.why else ""
        return f"{self.file}:{self.line}: {self.severity} [{self.rule}] {self.message}{why}"


@dataclass
class LintReport:
    findings: list[Finding] = field(default_factory=list)
    files: int = 0

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "fail"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warn"]

    def summary(self) -> str:
        return f"{self.files} file(s): {len(self.failures)} failing finding(s), {len(self.warnings)} warning(s)"


@dataclass(frozen=True)
class TableSizes:
    """What the target holds, for size-aware rules: table -> (rows, bytes), index -> table."""

    tables: Mapping[str, tuple[int, int]]
    indexes: Mapping[str, str] = field(default_factory=dict)
    rls_enabled: frozenset[str] = frozenset()

    def size(self, relation: str, *, is_index: bool = False) -> tuple[str, tuple[int, int] | None]:
        table = self.indexes.get(relation, relation) if is_index else relation
        return table, self.tables.get(table)


def read_table_sizes(conn: psycopg.Connection[Any]) -> TableSizes:
    """Row estimates and sizes of every user table, from the catalog (no table is scanned)."""
    tables: dict[str, tuple[int, int]] = {}
    rls: set[str] = set()
    rows = conn.execute(
        """
        select n.nspname, c.relname, greatest(c.reltuples, 0)::bigint, pg_total_relation_size(c.oid), c.relrowsecurity
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema')
          and n.nspname not like 'pg\\_%'
        """
    ).fetchall()
    for schema, name, estimate, size, row_security in rows:
        tables[f"{schema}.{name}"] = (int(estimate), int(size))
        if row_security:
            rls.add(f"{schema}.{name}")
    indexes = {
        f"{s}.{i}": f"{ts}.{t}"
        for s, i, ts, t in conn.execute(
            """
            select n.nspname, ic.relname, tn.nspname, tc.relname
            from pg_index x
            join pg_class ic on ic.oid = x.indexrelid join pg_namespace n on n.oid = ic.relnamespace
            join pg_class tc on tc.oid = x.indrelid join pg_namespace tn on tn.oid = tc.relnamespace
            where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'
            """
        ).fetchall()
    }
    return TableSizes(tables=tables, indexes=indexes, rls_enabled=frozenset(rls))


def squawk_binary() -> str:
    """Squawk from the `lint` extra (installed beside this interpreter), else from PATH."""
    beside = Path(sys.executable).parent / "squawk"
    found = str(beside) if beside.is_file() else shutil.which("squawk")
    if not found:
        raise LintUnavailable("squawk is not installed: pip install 'rollout-gate[lint]'")
    return found


def run_squawk(files: list[Path], config: LintConfig, *, pg_version: str | None = None) -> list[dict[str, Any]]:
    """Squawk's JSON findings for `files` (0-based lines, as Squawk reports them)."""
    argv = [squawk_binary(), "--reporter=json", "--no-error-on-unmatched-pattern"]
    if config.assume_in_transaction:
        argv.append("--assume-in-transaction")
    if pg_version:
        argv.append(f"--pg-version={pg_version}")
    if config.exclude:
        argv.append("--exclude=" + ",".join(config.exclude))
    if config.include:
        argv.append("--include=" + ",".join(config.include))
    proc = subprocess.run([*argv, *map(str, files)], capture_output=True, text=True, timeout=120, check=False)
    # 0: clean, 1: findings; anything else is Squawk failing (e.g. an unknown rule name).
    if proc.returncode not in (0, 1):
        detail = (proc.stderr.strip() or proc.stdout.strip() or f"exit {proc.returncode}").splitlines()[0]
        raise LintError(f"squawk failed: {detail}")
    try:
        findings = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError as exc:
        raise LintError(f"squawk printed no JSON report: {exc}") from None
    if not isinstance(findings, list):
        raise LintError("squawk's JSON report is not a list")
    return findings


def classify(
    rule: str, relation: tuple[str, bool] | None, sizes: TableSizes | None, config: LintConfig
) -> tuple[Literal["fail", "warn"], str] | None:
    """The mapped severity of one Squawk finding and why (naming the table for size rules); None if off."""
    severity, why = SQUAWK_RULES.get(rule, UNMAPPED)
    severity = config.severity.get(rule, severity)
    if severity == "off":
        return None
    if severity != "size":
        return severity, why
    if relation is None:
        return "fail", f"{why}; the table could not be told, assumed large"
    table, size = sizes.size(relation[0], is_index=relation[1]) if sizes else (relation[0], None)
    if sizes is None:
        return "fail", f"{why}; {table}: size unknown (no target), assumed large"
    if size is None:
        return "warn", f"{why}; {table} is new (not on the target)"
    rows, nbytes = size
    large = rows >= config.large_table_rows or nbytes >= config.large_table_bytes
    where = f"{table}: ~{rows:,} rows, {nbytes / 2**20:,.1f} MiB"
    limit = f"large from {config.large_table_rows:,} rows or {config.large_table_bytes / 2**20:,.0f} MiB"
    return ("fail" if large else "warn"), f"{why}; {where} ({limit})"


def lint_squawk(
    migrations: list[Path], config: LintConfig, sizes: TableSizes | None, *, pg_version: str | None, root: Path
) -> list[Finding]:
    findings: list[Finding] = []
    texts = {p.resolve(): p.read_text(encoding="utf-8") for p in migrations}
    statements = {p: sqltext.split_statements(t) for p, t in texts.items()}
    for raw in run_squawk(migrations, config, pg_version=pg_version):
        path = Path(str(raw.get("file", ""))).resolve()
        rule = str(raw.get("rule_name", "unknown"))
        line0, column = int(raw.get("line", 0)), int(raw.get("column", 0))
        relation = None
        if path in texts:
            stmt = sqltext.statement_at(statements[path], sqltext.offset_of(texts[path], line0, column))
            relation = sqltext.touched_relation(stmt) if stmt else None
        mapped = classify(rule, relation, sizes, config)
        if mapped is None:
            continue
        severity, why = mapped
        findings.append(
            Finding(_display(path, root), line0 + 1, rule, severity, str(raw.get("message", "")).strip(), "squawk", why)
        )
    return findings


def lint_tenancy(
    migrations: list[Path],
    rollback: list[Path],
    *,
    tenant_key: str,
    tenant_table: str,
    global_tables: Iterable[str],
    rls_on_target: frozenset[str] | None,
    root: Path,
) -> list[Finding]:
    """The multi-tenant rules over the whole set (a table created in 0001 may enable RLS in 0004)."""
    findings: list[Finding] = []
    exempt = {sqltext.relation_name(t) for t in global_tables}
    tenant_table = sqltext.relation_name(tenant_table)
    key = tenant_key.lower()
    created: dict[str, tuple[str, int]] = {}  # table -> where it gets the tenant key (or is created)
    gains_key: dict[str, tuple[str, int]] = {}
    enables: set[str] = set()
    for path, stmt in _statements(migrations):
        where = (_display(path, root), stmt.line)
        if table := sqltext.created_table(stmt):
            created.setdefault(table, where)
            if key in sqltext.column_names(stmt) or table == tenant_table:
                gains_key.setdefault(table, where)
        elif table := sqltext.altered_table(stmt):
            if key in sqltext.column_names(stmt):
                gains_key.setdefault(table, where)
            if re.search(r"\benable\s+row\s+level\s+security\b", stmt.code, re.I):
                enables.add(table)
    for path, stmt in _statements(migrations + rollback):
        if re.search(r"\bdisable\s+row\s+level\s+security\b", stmt.code, re.I):
            findings.append(
                Finding(_display(path, root), stmt.line, DISABLE_RLS, "fail",
                        f"disables row level security on {sqltext.altered_table(stmt) or 'a table'}", "rollout",
                        ROLLOUT_RULES[DISABLE_RLS])
            )  # fmt: skip
    for table, (file, line) in sorted(gains_key.items()):
        if table in exempt or table in enables:
            continue
        existing = table not in created
        if existing and rls_on_target is not None and table in rls_on_target:
            continue  # RLS was already on before the set; adding the key keeps it on
        what = "gets the tenant key" if existing else "is created with the tenant key"
        findings.append(
            Finding(file, line, TENANT_TABLE_WITHOUT_RLS, "fail",
                    f"{table} {what} ({tenant_key}) but no migration of the set enables row level security on it",
                    "rollout", ROLLOUT_RULES[TENANT_TABLE_WITHOUT_RLS])
        )  # fmt: skip
    return findings


def lint_migration_set(
    migrations_dir: Path,
    rollback_dir: Path | None,
    config: LintConfig,
    *,
    sizes: TableSizes | None,
    tenant_key: str,
    tenant_table: str,
    global_tables: Iterable[str] = (),
    pg_version: str | None = None,
    root: Path | None = None,
) -> LintReport:
    """Lint a migration set (and check its rollback set) against what the target holds."""
    root = root or Path.cwd()
    migrations = sql_files(migrations_dir) if migrations_dir.is_dir() else []
    if not migrations:
        raise LintError(f"no *.sql files in {migrations_dir}")
    rollback = sql_files(rollback_dir) if rollback_dir is not None and rollback_dir.is_dir() else []
    report = LintReport(files=len(migrations) + len(rollback))
    report.findings += lint_squawk(migrations, config, sizes, pg_version=pg_version, root=root)
    report.findings += lint_tenancy(
        migrations, rollback, tenant_key=tenant_key, tenant_table=tenant_table, global_tables=global_tables,
        rls_on_target=sizes.rls_enabled if sizes else None, root=root,
    )  # fmt: skip
    if not rollback:
        where = str(rollback_dir) if rollback_dir is not None else "(none configured)"
        report.findings.append(
            Finding(_display(migrations_dir, root), 0, ROLLBACK_MISSING, "fail",
                    f"no rollback set: no *.sql files in {where}", "rollout", ROLLOUT_RULES[ROLLBACK_MISSING])
        )  # fmt: skip
    report.findings.sort(key=lambda f: (f.severity != "fail", f.file, f.line, f.rule))
    return report


def _statements(files: list[Path]) -> Iterable[tuple[Path, sqltext.Statement]]:
    for path in files:
        for stmt in sqltext.split_statements(path.read_text(encoding="utf-8")):
            yield path, stmt


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
