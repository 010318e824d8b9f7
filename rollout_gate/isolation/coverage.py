"""Static RLS coverage, read from the catalog: which tables are reachable without row-level security.

Fail (criterion `rls_coverage`):
- `rls_disabled`: a tenant table, or any table `authenticated`/`anon` can reach through a grant,
  without RLS enabled (tables listed in `tenancy.global_tables` are exempt);
- `rls_not_forced`: RLS enabled but not forced on a table owned by the role the application logs
  in as (`target.app_role`), unless that owner bypasses RLS anyway;
- `always_true_policy`: a permissive policy whose USING or WITH CHECK is literally `true`, on a
  tenant table, for an API role (or PUBLIC);
- `anon_definer_function`: a SECURITY DEFINER function the anonymous role may execute that names a
  tenant table (it reads them past RLS), unless listed in `tenancy.probes.definer_allow`.

Warn (reported for review, never block):
- `row_independent_policy`: a permissive policy on a tenant table that looks at no column of the
  row (e.g. `auth.role() = 'authenticated'`): a caller gets all rows or none;
- `anon_policy`: a policy on a tenant table written for the anonymous role (`TO anon`), which holds a grant
  (a policy for PUBLIC is `public_policy`, in rollout_gate/isolation/lints.py);
- `definer_function`: a SECURITY DEFINER function executable by `authenticated` that names a
  tenant table (not allow-listed): it bypasses RLS and must filter by tenant itself;
- `unindexed_tenant_key`: a tenant key column that leads no index (every policy filters on it).

The splinter-style lints (user metadata in policies, definer functions without a search_path, views
without security_invoker, RLS without a policy, policies for PUBLIC) are in rollout_gate/isolation/lints.py;
`static_findings` there returns both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from rollout_gate.catalog.model import Policy
from rollout_gate.catalog.names import QualifiedName, qualify
from rollout_gate.catalog.tenancy import TenancyModel
from rollout_gate.gate import findings as gate

FAIL, WARN = "fail", "warn"


@dataclass(frozen=True)
class Finding:
    level: str
    rule: str
    subject: str
    detail: str
    # What it is about, for the gate files: (kind, name) pairs, kinds as in rollout_gate.gate.findings.
    objects: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return f"{self.subject}: {self.detail} [{self.rule}]"

    def for_gate(self) -> list[gate.Finding]:
        """One gate finding per object it names, all with its rule and detail (gate.md shows them as one line)."""
        return [gate.Finding(kind, name, self.rule, self.detail) for kind, name in self.objects]


def coverage_findings(
    model: TenancyModel, conn: psycopg.Connection[Any] | None = None, *, app_role: str | None = None
) -> list[Finding]:
    """`app_role`: the environment's `target.app_role` (tables it owns need FORCE ROW LEVEL SECURITY)."""
    findings: list[Finding] = []
    findings += _rls_tables(model, conn, app_role)
    findings += _policies(model)
    findings += _functions(model)
    findings += _indexes(model)
    return findings


def tables_in_scope(model: TenancyModel) -> dict[QualifiedName, str]:
    """Tables that need RLS, with why: tenant tables, and tables an API role can reach through a grant."""
    scope: dict[QualifiedName, str] = {}
    for tenant_table in model.tenant_tables:
        scope[tenant_table.name] = f"carries the tenant key {tenant_table.key}"
    for name, table in model.catalog.tables.items():
        roles = [r for r in model.api_roles if table.granted_to(r)]
        if roles and name not in scope and name not in model.global_tables:
            grants = "; ".join(f"{r}: {', '.join(sorted(table.privileges[r]))}" for r in roles)
            scope[name] = f"granted to {grants}"
    return scope


def _rls_tables(model: TenancyModel, conn: psycopg.Connection[Any] | None, app_role: str | None) -> list[Finding]:
    out = []
    for name, why in sorted(tables_in_scope(model).items()):
        table = model.catalog.tables[name]
        if not table.rls_enabled:
            detail = f"row level security is not enabled; the table {why}"
            out.append(Finding(FAIL, "rls_disabled", str(name), detail, ((gate.TABLE, str(name)),)))
            continue
        if app_role and not table.rls_forced and not table.owner_bypasses_rls and _owns(conn, app_role, table.owner):
            detail = (
                f"RLS is enabled but not forced, and the application role {app_role} owns the table "
                f"(owner {table.owner}): the policies do not apply to it"
            )
            objects = ((gate.TABLE, str(name)), (gate.ROLE, app_role))
            out.append(Finding(FAIL, "rls_not_forced", str(name), detail, objects))
    return out


def _owns(conn: psycopg.Connection[Any] | None, role: str, owner: str) -> bool:
    if role == owner:
        return True
    if conn is None:
        return False
    row = conn.execute(
        "select exists (select 1 from pg_roles where rolname = %s) and pg_has_role(%s, %s, 'USAGE')",
        (role, role, owner),
    ).fetchone()
    return bool(row and row[0])


def _api_policy(model: TenancyModel, policy: Policy) -> bool:
    return "public" in policy.roles or any(r in policy.roles for r in model.api_roles)


def _policies(model: TenancyModel) -> list[Finding]:
    tenant = {t.name for t in model.tenant_tables}
    anon = model.anon_role
    out = []
    for policy in model.catalog.policies:
        if policy.table not in tenant or not _api_policy(model, policy):
            continue
        subject = f"{policy.table} policy {policy.name}"
        objects = ((gate.TABLE, str(policy.table)), (gate.POLICY, policy.name))
        if policy.permissive and "true" in (policy.using, policy.check):
            clause = "USING" if policy.using == "true" else "WITH CHECK"
            detail = (
                f"{clause} (true) for {', '.join(policy.roles)} on {policy.command}: "
                "every row of every tenant passes, the tenant is not checked"
            )
            roles = tuple((gate.ROLE, r) for r in policy.roles)
            out.append(Finding(FAIL, "always_true_policy", subject, detail, objects + roles))
        elif policy.permissive and policy.row_independent:
            detail = f"{policy.describe()} looks at no column of the row: a caller gets all rows or none"
            out.append(Finding(WARN, "row_independent_policy", subject, detail, objects))
        table = model.catalog.tables.get(policy.table)
        if anon and table and table.granted_to(anon) and anon in policy.roles:
            detail = f"applies to the anonymous role {anon}, which holds {', '.join(sorted(table.privileges[anon]))}"
            out.append(Finding(WARN, "anon_policy", subject, detail, (*objects, (gate.ROLE, anon))))
    return out


def _functions(model: TenancyModel) -> list[Finding]:
    tenant = {t.name for t in model.tenant_tables}
    allowed = {qualify(f) for f in model.config.probes.definer_allow}
    out = []
    for fn in model.catalog.functions:
        reads = sorted(str(t) for t in fn.mentions & tenant)
        if not fn.security_definer or not reads or fn.name in allowed:
            continue
        anon = model.anon_role
        tables = tuple((gate.TABLE, t) for t in reads)
        if anon and anon in fn.executable_by:
            detail = f"SECURITY DEFINER, executable by {anon}, names {', '.join(reads)}: reads them past RLS"
            objects = ((gate.FUNCTION, fn.signature), (gate.ROLE, anon), *tables)
            out.append(Finding(FAIL, "anon_definer_function", fn.signature, detail, objects))
        elif model.member_role in fn.executable_by:
            detail = (
                f"SECURITY DEFINER, executable by {model.member_role}, names {', '.join(reads)}: bypasses RLS, "
                "so it must check the caller's tenant itself (review, then list it in tenancy.probes.definer_allow)"
            )
            objects = ((gate.FUNCTION, fn.signature), (gate.ROLE, model.member_role), *tables)
            out.append(Finding(WARN, "definer_function", fn.signature, detail, objects))
    return out


def _indexes(model: TenancyModel) -> list[Finding]:
    out = []
    for table in model.data_tables:
        meta = model.catalog.tables[table.name]
        if table.key not in meta.index_leading_columns:
            detail = f"no index starts with the tenant key {table.key}: every tenant-filtered query scans the table"
            out.append(Finding(WARN, "unindexed_tenant_key", str(table.name), detail, ((gate.TABLE, str(table.name)),)))
    return out


def populated_tables(conn: psycopg.Connection[Any], model: TenancyModel) -> list[QualifiedName]:
    """Tenant tables holding at least one row (only those can show a leak of existing rows)."""
    out = []
    for table in model.tenant_tables:
        row = conn.execute(sql.SQL("select exists (select 1 from {})").format(table.name.ident)).fetchone()
        if row and row[0]:
            out.append(table.name)
    return out
