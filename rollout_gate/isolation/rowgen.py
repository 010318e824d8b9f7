"""Build a row an INSERT probe can write: a copy of a real row, re-keyed and made unique.

Starting from a row of the actor's own tenant (read as admin), column by column:
generated columns are left out; the tenant key becomes the target tenant; references to other
tenant tables point at a parent row of the target tenant; columns referencing the user table
become the actor (or, when part of a unique key, a user outside the target tenant, so that e.g. a
membership row does not collide with the actor's own); primary-key columns with a default are
left to it; other columns of a unique key get a fresh value (or NULL where allowed). Everything else is
copied, so CHECK constraints and NOT NULL columns are satisfied the way real data satisfies them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from rollout_gate.catalog.model import Table
from rollout_gate.catalog.names import QualifiedName
from rollout_gate.catalog.tenancy import TenancyModel, TenantTable

_INTEGER_TYPES = ("bigint", "integer", "smallint")
_TEXT_TYPES = ("text", "character varying", "citext")


class RowError(ValueError):
    """No valid row can be built (no parent in the target tenant, a key type we cannot make fresh)."""


@dataclass
class RowPlan:
    """What the prepared INSERT writes; `values` is JSON for jsonb_populate_record."""

    table: QualifiedName
    values: dict[str, Any]
    columns: list[str] = field(default_factory=list)

    def insert(self) -> sql.Composed:
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in self.columns)
        return sql.SQL(
            "insert into {t} ({cols}) select {cols} from jsonb_populate_record(null::{t}, %s::jsonb)"
        ).format(t=self.table.ident, cols=cols)


def fresh_value(conn: psycopg.Connection[Any], table: Table, column: str) -> Any:
    type_ = table.columns[column].type
    if type_ == "uuid":
        return str(uuid.uuid4())
    if type_ in _INTEGER_TYPES:
        row = conn.execute(
            sql.SQL("select coalesce(max({}), 0) + 1000 + floor(random() * 1000)::int from {}").format(
                sql.Identifier(column), table.name.ident
            )
        ).fetchone()
        return int(row[0]) if row else 1
    if type_ in _TEXT_TYPES or type_.startswith("character varying"):
        return f"rg-probe-{uuid.uuid4().hex[:12]}"
    raise RowError(f"cannot make a fresh value for {table.name}.{column} of type {type_}")


def parent_values(
    conn: psycopg.Connection[Any], model: TenancyModel, table: TenantTable, tenant: str
) -> dict[str, Any | None]:
    """For each reference to another tenant table: the key of one parent row of `tenant` (None: none exists)."""
    out: dict[str, Any | None] = {}
    for fk in model.catalog.foreign_keys:
        if fk.child != table.name or table.key in fk.child_columns:
            continue
        parent = model.tenant_table_of(fk.parent)
        if parent is None or parent.is_tenant_table:
            continue
        parent_table = model.table(parent.name)
        key_type = parent_table.columns[parent.key].type
        row = conn.execute(
            sql.SQL("select {} from {} p where p.{} = %s::{} limit 1").format(
                sql.SQL(", ").join(sql.SQL("to_jsonb(p.{})").format(sql.Identifier(c)) for c in fk.parent_columns),
                parent.name.ident,
                sql.Identifier(parent.key),
                sql.SQL(key_type),
            ),
            (tenant,),
        ).fetchone()
        for i, column in enumerate(fk.child_columns):
            out[column] = row[i] if row else None
    return out


def plan_row(
    conn: psycopg.Connection[Any],
    model: TenancyModel,
    table: TenantTable,
    template: dict[str, Any],
    *,
    tenant: str | None,
    actor: str | None,
    outsider: str | None,
    overrides: dict[str, Any] | None = None,
) -> RowPlan:
    """A row like `template`, keyed to `tenant` (None for the tenant table itself), written by `actor`.

    With `actor` None (the anonymous role) user columns keep the template's values.
    """
    meta = model.table(table.name)
    user_columns = set(model.user_columns(table.name))
    parents = parent_values(conn, model, table, tenant) if tenant is not None else {}
    values: dict[str, Any] = {}
    for name, column in meta.columns.items():
        if column.generated:
            continue
        if tenant is not None and name == table.key:
            values[name] = tenant
        elif name in parents:
            if parents[name] is None and column.not_null:
                raise RowError(f"no row of the parent table in tenant {tenant} for {table.name}.{name}")
            values[name] = parents[name]
        elif name in user_columns:
            if name in meta.unique_key_columns:
                if not column.not_null:
                    values[name] = None
                elif outsider is None:
                    raise RowError(f"no user outside tenant {tenant} for {table.name}.{name}")
                else:
                    values[name] = outsider
            elif actor is None:
                values[name] = template.get(name)
            else:
                values[name] = actor if template.get(name) is not None or column.not_null else None
        elif name in meta.primary_key:
            if column.has_default:
                continue
            values[name] = fresh_value(conn, meta, name)
        elif name in meta.unique_key_columns:
            values[name] = None if not column.not_null else fresh_value(conn, meta, name)
        else:
            values[name] = template.get(name)
    values.update(overrides or {})
    return RowPlan(table.name, values, list(values))
