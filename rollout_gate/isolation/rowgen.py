"""Build a row an INSERT probe can write: a copy of a real row, re-keyed and made unique.

Starting from a template row (read as admin), column by column: generated columns are left out; the
tenant key becomes the target tenant; references to other tenant tables point at a parent row of
the target tenant; columns referencing the user table become the actor (or, when part of a unique
key, NULL or a user outside the target tenant, so that e.g. a membership row does not collide with
the actor's own); primary-key columns get a fresh value where one can be made (so the stored row can
be read back by its key), else their default; other columns of a unique key get a fresh value where
the template has one (NULL only where the template is NULL: a CHECK may tie the column to another).
Everything else is copied, so CHECK constraints and NOT NULL columns are satisfied the way real data
satisfies them. `plan_rows` returns candidates (several templates, and a variant for each choice
made above) in the order the probes try them.

A table with no row at all gets a template from its catalog (`synth_template`): defaults where there
are, NULL where allowed, else a value of the column's type that its own CHECK constraints or enum
labels allow. A NOT NULL user column is the actor even where it has a default: the admin creating a
probe row has no identity, so `invited_by default auth.uid()` would be NULL.
"""

from __future__ import annotations

import re
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
_LITERAL = re.compile(r"'((?:[^']|'')*)'::")
# Most candidate rows the probes try before giving up (each a control statement).
MAX_CANDIDATES = 4


class RowError(ValueError):
    """No valid row can be built (no parent in the target tenant, a key type we cannot make fresh)."""


@dataclass
class RowPlan:
    """What the prepared INSERT writes; `values` is JSON for jsonb_populate_record."""

    table: QualifiedName
    values: dict[str, Any]
    columns: list[str] = field(default_factory=list)
    # Primary-key columns (with their types) when the plan sets them all: the stored row is found by them.
    pk: tuple[tuple[str, str], ...] = ()

    def insert(self) -> sql.Composed:
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in self.columns)
        return sql.SQL(
            "insert into {t} ({cols}) select {cols} from jsonb_populate_record(null::{t}, %s::jsonb)"
        ).format(t=self.table.ident, cols=cols)

    def with_value(self, column: str, value: Any) -> RowPlan:
        values = {**self.values, column: value}
        return RowPlan(self.table, values, list(values), self.pk)

    @property
    def keys(self) -> tuple[str, ...]:
        return (", ".join(f"{c}={self.values[c]}" for c, _ in self.pk),) if self.pk else ()

    def locate(self) -> tuple[sql.Composed, list[Any]] | None:
        """A WHERE clause (and its parameters) finding the written row by its primary key."""
        if not self.pk:
            return None
        where = sql.SQL(" and ").join(sql.SQL("{} = %s::{}").format(sql.Identifier(c), sql.SQL(t)) for c, t in self.pk)
        return where, [str(self.values[c]) for c, _ in self.pk]


def fresh_value(conn: psycopg.Connection[Any], table: Table, column: str) -> Any:
    type_ = table.columns[column].type
    if type_ == "uuid":
        return str(uuid.uuid4())
    if type_ in _INTEGER_TYPES:
        row = conn.execute(
            sql.SQL("select coalesce(max({}), 0) + 1000 + floor(random() * 100000)::int from {}").format(
                sql.Identifier(column), table.name.ident
            )
        ).fetchone()
        return int(row[0]) if row else 1
    if type_ in _TEXT_TYPES or type_.startswith("character varying"):
        tag = uuid.uuid4().hex[:12]
        return f"rg-probe-{tag}@example.invalid" if "email" in column else f"rg-probe-{tag}"
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
    variant: int = 0,
    parents: dict[str, Any | None] | None = None,
) -> RowPlan:
    """A row like `template`, keyed to `tenant` (None for the tenant table itself), written by `actor`.

    With `actor` None (the anonymous role) user columns keep the template's values. `variant` 1 makes
    the other choice where one was made: a nullable unique column the template fills becomes NULL
    (variant 0: fresh), a nullable unique user column becomes the outsider (variant 0: NULL), and a
    user column the template leaves NULL stays NULL or its default (variant 0: the actor, as a member
    writing its own row names itself).
    """
    meta = model.table(table.name)
    user_columns = set(model.user_columns(table.name))
    if parents is None:
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
        elif (
            name not in template
            and column.has_default
            and name not in meta.primary_key
            and not (name in user_columns and column.not_null and actor is not None)
        ):
            continue  # a synthesized template leaves it to the default (e.g. `created_at default now()`)
        elif name in user_columns:
            if name in meta.unique_key_columns:
                if not column.not_null and (variant == 0 or template.get(name) is None):
                    values[name] = None
                elif outsider is None:
                    raise RowError(f"no user outside tenant {tenant} for {table.name}.{name}")
                else:
                    values[name] = outsider
            elif actor is None:
                values[name] = template.get(name)
            elif template.get(name) is None and not column.not_null and variant == 1:
                if not column.has_default:
                    values[name] = None  # else its default decides (e.g. `default auth.uid()`)
            else:
                values[name] = actor
        elif name in meta.primary_key:
            try:
                values[name] = fresh_value(conn, meta, name)
            except RowError:
                if not column.has_default:
                    raise
        elif name in meta.unique_key_columns:
            nullable = not column.not_null
            if nullable and (template.get(name) is None or variant == 1):
                values[name] = None
            else:
                values[name] = fresh_value(conn, meta, name)
        else:
            values[name] = template.get(name)
    values.update(overrides or {})
    pk = tuple((c, meta.columns[c].type) for c in meta.primary_key)
    return RowPlan(table.name, values, list(values), pk if all(c in values for c, _ in pk) else ())


def plan_rows(
    conn: psycopg.Connection[Any],
    model: TenancyModel,
    table: TenantTable,
    templates: list[dict[str, Any]],
    *,
    tenants: tuple[str | None, ...],
    actor: str | None,
    outsider: str | None,
) -> list[tuple[RowPlan, ...]] | str:
    """Candidate rows, one per tenant of `tenants` from the same template and variant, most likely first
    (at most MAX_CANDIDATES); the reason when none can be built.

    Each template as is (variant 0), then each template's variant 1 where it makes another choice.
    """
    plans: list[tuple[RowPlan, ...]] = []
    errors: list[str] = []
    shapes: dict[int, tuple[tuple[str, bool, bool], ...]] = {}
    # One lookup of parent rows per tenant, shared by every candidate.
    parents = {t: parent_values(conn, model, table, t) if t is not None else {} for t in tenants}
    for variant in (0, 1):
        for i, template in enumerate(templates):
            try:
                plan = tuple(
                    plan_row(
                        conn,
                        model,
                        table,
                        template,
                        tenant=t,
                        actor=actor,
                        outsider=outsider,
                        variant=variant,
                        parents=parents[t],
                    )
                    for t in tenants
                )
            except RowError as exc:
                errors.append(str(exc))
                continue
            shape = tuple(sorted((c, v is None, v == outsider) for c, v in plan[0].values.items()))
            if shapes.get(i) != shape:
                shapes.setdefault(i, shape)
                plans.append(plan)
    if not plans:
        return "; ".join(sorted(set(errors))) or "no template row"
    return plans[:MAX_CANDIDATES]


_COLUMN_RULES = """
select a.attname,
       (select array_agg(e.enumlabel::text order by e.enumsortorder) from pg_enum e where e.enumtypid = a.atttypid),
       (select array_agg(pg_get_constraintdef(c.oid)) from pg_constraint c
         where c.conrelid = a.attrelid and c.contype = 'c' and c.conkey = array[a.attnum]::int2[])
from pg_attribute a
where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped
"""


def synth_template(conn: psycopg.Connection[Any], table: Table) -> dict[str, Any]:
    """A template for a table with no row: only NOT NULL columns without a default get a value."""
    rules = {name: (labels, checks) for name, labels, checks in conn.execute(_COLUMN_RULES, (str(table.name),))}
    out: dict[str, Any] = {}
    for name, column in table.columns.items():
        if column.generated or column.has_default or not column.not_null:
            continue
        labels, checks = rules.get(name, (None, None))
        out[name] = _value_for(column.type, name, labels or [], checks or [])
    return out


def _value_for(type_: str, name: str, labels: list[str], checks: list[str]) -> Any:
    if labels:
        return labels[0]
    literals = [m.replace("''", "'") for check in checks for m in _LITERAL.findall(check)]
    if literals:
        return literals[0]
    if type_ == "uuid":
        return str(uuid.uuid4())
    if type_ == "boolean":
        return False
    if type_ in _INTEGER_TYPES or type_.startswith(("numeric", "real", "double")):
        return 1
    if type_.startswith(("timestamp", "date")):
        return "2000-01-01T00:00:00+00:00" if type_.startswith("timestamp") else "2000-01-01"
    if type_ in ("json", "jsonb"):
        return {}
    if type_.endswith("[]"):
        return []
    if type_ == "interval":
        return "1 day"
    tag = uuid.uuid4().hex[:12]
    return f"rg-probe-{tag}@example.invalid" if "email" in name else f"rg-probe-{tag}"
