"""Replay a table's UPDATE/DELETE policies on copies of its rows, as the member.

An UPDATE or DELETE whose WHERE reads a column (`... WHERE id = 5`, or the probes' `ctid = ...`)
also has to pass the SELECT policies, so a USING clause that lets other tenants' rows through stays
hidden as long as SELECT is right. A blind statement (`DELETE FROM t`, what `DELETE /t` without a
filter sends through PostgREST) is only checked against the UPDATE/DELETE policies, and would reach
them. Running one for real would touch every row the policies allow, so instead the admin copies a
few rows of the member's tenant and of tenant B into a temporary table (no RLS), and the member
evaluates the policies' combined USING expression (as deparsed by PostgreSQL) on those copies.
Functions and subqueries in the policies run as the member, exactly as they would in the statement.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from rollout_gate.catalog.tenancy import TenancyModel, TenantTable

MARKER = "rg_probe_other"


def copy_rows(
    conn: psycopg.Connection[Any], table: TenantTable, name: str, own: list[str], other: list[str], role: str
) -> None:
    """As admin: a temporary copy of `own` and `other` rows (by ctid), readable by `role`, gone at rollback."""
    conn.execute(
        sql.SQL(
            "create temp table {name} on commit drop as select t.*, t.ctid = any(%s::tid[]) as {marker} "
            "from {table} t where t.ctid = any(%s::tid[])"
        ).format(name=sql.Identifier(name), marker=sql.Identifier(MARKER), table=table.name.ident),
        (other, own + other),
    )
    conn.execute(sql.SQL("grant select on pg_temp.{} to {}").format(sql.Identifier(name), sql.Identifier(role)))


def using_predicate(model: TenancyModel, table: TenantTable, command: str, role: str) -> sql.SQL | None:
    """The USING expression a blind `command` is checked against; None when no policy lets any row through."""
    policies = model.catalog.policies_for(table.name, command, role)
    # A permissive policy without USING lets no existing row through; a restrictive one restricts nothing.
    permissive = [p.using for p in policies if p.permissive and p.using]
    restrictive = [p.using for p in policies if not p.permissive and p.using]
    if not permissive:
        return None
    text = " or ".join(f"({u})" for u in permissive)
    if restrictive:
        text = f"({text}) and " + " and ".join(f"({u})" for u in restrictive)
    return sql.SQL(text)  # deparsed by PostgreSQL from the catalog, not user input


def replay_query(table: TenantTable, name: str, predicate: sql.SQL) -> sql.Composed:
    """(own rows, other tenant's rows) the predicate accepts; the copy is aliased as the table, so
    `table.column` references inside the policies resolve. Run without parameters: policy text may hold `%`."""
    return sql.SQL(
        "select count(*) filter (where not {marker}), count(*) filter (where {marker}) "
        "from pg_temp.{name} as {alias} where {predicate}"
    ).format(
        marker=sql.Identifier(MARKER),
        name=sql.Identifier(name),
        alias=sql.Identifier(table.name.name),
        predicate=predicate,
    )
