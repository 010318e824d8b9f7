"""The role the application connects as (`target.app_role`) is subject to row level security.

RLS does not apply to a superuser or a BYPASSRLS role, nor to the owner of a table whose RLS is enabled
but not forced (nor to a role that inherits the owner's rights: `pg_has_role(..., 'USAGE')`). If the
application connects as such a role, every policy is skipped for its own queries, whatever the probes
(which impersonate the API roles) show. Each is a failing finding naming the role and the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from rollout_gate.catalog.tenancy import TenancyModel


@dataclass(frozen=True)
class AppRoleFinding:
    role: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.detail}"


def app_role_findings(conn: psycopg.Connection[Any], model: TenancyModel, role: str) -> list[AppRoleFinding]:
    """Why RLS does not bind `role` on the target's tenant tables (empty: it binds it)."""
    row = conn.execute("select rolsuper, rolbypassrls from pg_roles where rolname = %s", (role,)).fetchone()
    if row is None:
        return [AppRoleFinding(role, f"target.app_role {role}", "no such role on the target")]
    superuser, bypassrls = row
    if superuser or bypassrls:
        # FORCE ROW LEVEL SECURITY does not bind these either: the tables it owns add nothing to fix.
        what = "is a superuser" if superuser else "has BYPASSRLS"
        detail = f"{what}: row level security never applies to the application's connection"
        return [AppRoleFinding(role, f"application role {role}", detail)]
    out = []
    tables = [(t, model.table(t.name)) for t in model.tenant_tables]
    unforced = [(t, meta.owner) for t, meta in tables if meta.rls_enabled and not meta.rls_forced]
    owners = sorted({owner for _, owner in unforced})
    acts_as = _acts_as(conn, role, owners)
    for table, owner in unforced:
        if owner not in acts_as:
            continue
        how = "owns it" if owner == role else f"inherits the rights of its owner {owner}"
        detail = (
            f"RLS is enabled but not forced and the application role {role} {how}: the policies do not apply "
            f"to the application's connection (ALTER TABLE {table.name} FORCE ROW LEVEL SECURITY)"
        )
        out.append(AppRoleFinding(role, str(table.name), detail))
    return out


def _acts_as(conn: psycopg.Connection[Any], role: str, owners: list[str]) -> set[str]:
    """The owners among `owners` whose rights `role` holds (itself, or inherited through membership)."""
    if not owners:
        return set()
    rows = conn.execute(
        "select o from unnest(%s::text[]) o where o = %s "
        "or (exists (select 1 from pg_roles where rolname = o) and pg_has_role(%s, o, 'USAGE'))",
        (owners, role, role),
    ).fetchall()
    return {r[0] for r in rows}
