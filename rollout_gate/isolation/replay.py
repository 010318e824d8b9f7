"""Replay a table's UPDATE/DELETE policies on copies of its rows, as the member.

An UPDATE or DELETE whose WHERE reads a column (`... WHERE id = 5`, or the probes' `ctid = ...`)
also has to pass the SELECT policies, so a USING clause that lets other tenants' rows through stays
hidden as long as SELECT is right. A blind statement (`DELETE FROM t`, what `DELETE /t` without a
filter sends through PostgREST) is only checked against the UPDATE/DELETE policies, and would reach
them. Running one for real would touch every row the policies allow; instead the admin reads a few
rows of the member's tenant and of tenant B as JSON, and the member evaluates the policies' combined
USING expression (as PostgreSQL deparses it) over those rows rebuilt with `jsonb_populate_recordset`
(a function, not the table: no RLS, no privilege needed, nothing written). Functions and subqueries
in the policies run as the member, exactly as they would in the statement.
"""

from __future__ import annotations

from psycopg import sql

from rollout_gate.catalog.tenancy import TenancyModel, TenantTable


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
    # Deparsed by PostgreSQL from the catalog (not user input); `%` doubled as the query has parameters.
    return sql.SQL(text.replace("%", "%%"))


def replay_query(table: TenantTable, predicate: sql.SQL) -> sql.Composed:
    """(own rows, the other tenant's rows) the predicate accepts, from the JSON parameters %(own)s and
    %(other)s. The rebuilt rows are aliased as the table, so `table.column` in the policies resolves."""
    count = "(select count(*) from {} where {})"
    return sql.SQL(f"select {count}, {count}").format(_rows(table, "own"), predicate, _rows(table, "other"), predicate)


def _rows(table: TenantTable, param: str) -> sql.Composed:
    return sql.SQL("jsonb_populate_recordset(null::{}, {}::jsonb) as {}").format(
        table.name.ident, sql.Placeholder(param), sql.Identifier(table.name.name)
    )
