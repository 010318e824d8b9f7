"""Tenancy invariants after the migration, each one set-based SQL statement (plus examples on failure).

Every check returns `Violation`s: what is wrong, where, how many rows, and the keys of the first few.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from rollout_gate.catalog.model import ForeignKey
from rollout_gate.catalog.names import QualifiedName
from rollout_gate.catalog.tenancy import TenancyModel, TenantTable, predicate

Conn = psycopg.Connection[Any]


@dataclass
class Violation:
    table: str
    what: str
    count: int
    examples: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        shown = f" (e.g. {'; '.join(self.examples)})" if self.examples else ""
        return f"{self.table}: {self.count} {self.what}{shown}"


def _ident(name: QualifiedName) -> sql.Identifier:
    return name.ident


def _key_text(model: TenancyModel, table: QualifiedName, alias: str = "t") -> sql.Composable:
    """`id=<id>` (or `a=<a>, b=<b>`) of a row, for messages; the ctid for a table without a primary key."""
    key = model.catalog.tables[table].primary_key if table in model.catalog.tables else ()
    if not key:
        return sql.SQL("'ctid=' || {}.ctid::text").format(sql.Identifier(alias))
    parts = [
        sql.SQL("{} || '=' || coalesce({}.{}::text, 'NULL')").format(
            sql.Literal(c), sql.Identifier(alias), sql.Identifier(c)
        )
        for c in key
    ]
    return sql.SQL("concat_ws(', ', {})").format(sql.SQL(", ").join(parts))


def _violation(
    conn: Conn, table: str, what: str, rows: sql.Composable, example: sql.Composable, limit: int
) -> list[Violation]:
    """`rows` is a FROM/WHERE clause over alias t; one count, and examples only when it is not zero."""
    count = conn.execute(sql.SQL("select count(*) from {}").format(rows)).fetchone()
    n = int(count[0]) if count else 0
    if not n:
        return []
    examples = conn.execute(sql.SQL("select {} from {} limit {}").format(example, rows, sql.Literal(limit))).fetchall()
    return [Violation(table, what, n, [str(e[0]) for e in examples])]


def _active(model: TenancyModel, alias: str = "m") -> sql.Composable:
    m = model.config.membership
    if not m.status_column:
        return sql.SQL("true")
    status = sql.Identifier(alias, m.status_column)
    return sql.SQL("{} = {}").format(status, sql.Literal(m.active_value))


def users_without_active_membership(conn: Conn, model: TenancyModel, limit: int) -> list[Violation]:
    """Every user (lazy migration: every user signed in since the deploy) has an active membership."""
    cfg, m = model.config, model.config.membership
    rows = sql.SQL(
        "{users} t where {migrated} and not exists (select 1 from {members} m where m.{user} = t.{key} and {active})"
    ).format(
        users=_ident(model.user_table), members=_ident(model.membership_table), user=sql.Identifier(m.user_column),
        key=sql.Identifier(cfg.user_key), active=_active(model), migrated=model.signed_in_since_deploy("t"),
    )  # fmt: skip
    example = sql.SQL("t.{}::text").format(sql.Identifier(cfg.user_key))
    who = "users signed in since the deploy" if model.lazy_migration else "users"
    return _violation(conn, str(model.user_table), f"{who} without an active membership", rows, example, limit)


def tenants_without_owner(conn: Conn, model: TenancyModel, limit: int) -> list[Violation]:
    cfg, m = model.config, model.config.membership
    rows = sql.SQL(
        "{tenants} t where not exists (select 1 from {members} m where m.{tenant} = t.{key} and {owner} and {active})"
    ).format(
        tenants=_ident(model.tenant_table), members=_ident(model.membership_table),
        tenant=sql.Identifier(m.tenant_column), key=sql.Identifier(cfg.tenant_table_key),
        owner=model.has_role(sql.Identifier("m", m.role_column), m.owner_role), active=_active(model),
    )  # fmt: skip
    example = sql.SQL("t.{}::text").format(sql.Identifier(cfg.tenant_table_key))
    what = f"tenants without an active {m.owner_role!r} membership"
    return _violation(conn, str(model.tenant_table), what, rows, example, limit)


def personal_workspaces(model: TenancyModel) -> sql.Composable | None:
    """A derived table of the tenant rows that are personal workspaces (columns as the tenant table's)."""
    personal = model.personal_workspace
    if personal is None or not personal.owner_column:
        return None
    marker = (
        predicate(personal.predicate)
        if personal.predicate is not None
        else sql.SQL("{} is not null").format(sql.Identifier(personal.owner_column))
    )
    return sql.SQL("(select * from {} where {})").format(_ident(model.tenant_table), marker)


def personal_workspace_problems(conn: Conn, model: TenancyModel, limit: int) -> list[Violation]:
    """No user has two personal workspaces; every user has one; its owner is its active owner member."""
    cfg, m = model.config, model.config.membership
    personal = personal_workspaces(model)
    if personal is None or model.personal_workspace is None or not model.personal_workspace.owner_column:
        return []
    ids = {
        "personal": personal, "users": _ident(model.user_table),
        "members": _ident(model.membership_table), "owner": sql.Identifier(model.personal_workspace.owner_column),
        "key": sql.Identifier(cfg.tenant_table_key), "ukey": sql.Identifier(cfg.user_key),
        "mtenant": sql.Identifier(m.tenant_column), "muser": sql.Identifier(m.user_column),
        "is_owner": model.has_role(sql.Identifier("m", m.role_column), m.owner_role), "active": _active(model),
        "migrated": model.signed_in_since_deploy("t"),
    }  # fmt: skip
    found = []
    several = sql.SQL(
        "(select {owner} as user_id, count(*) as n from {personal} p where {owner} is not null "
        "group by 1 having count(*) > 1) t"
    ).format(**ids)
    found += _violation(
        conn, str(model.tenant_table), "users with more than one personal workspace", several,
        sql.SQL("t.user_id::text || ' (' || t.n || ' workspaces)'"), limit,
    )  # fmt: skip
    if model.workspace_per_user:
        missing = sql.SQL(
            "{users} t where {migrated} and not exists (select 1 from {personal} o where o.{owner} = t.{ukey})"
        ).format(**ids)
        who = "users signed in since the deploy" if model.lazy_migration else "users"
        found += _violation(
            conn, str(model.user_table), f"{who} without a personal workspace", missing,
            sql.SQL("t.{}::text").format(sql.Identifier(cfg.user_key)), limit,
        )  # fmt: skip
    unowned = sql.SQL(
        "{personal} t where not exists (select 1 from {members} m "
        "where m.{mtenant} = t.{key} and m.{muser} = t.{owner} and {is_owner} and {active})"
    ).format(**ids)
    found += _violation(
        conn, str(model.tenant_table), "personal workspaces whose owner is not their active owner member", unowned,
        sql.SQL("t.{}::text").format(sql.Identifier(cfg.tenant_table_key)), limit,
    )  # fmt: skip
    return found


def tenant_key_problems(conn: Conn, model: TenancyModel, limit: int) -> list[Violation]:
    """No row of a tenant table has a NULL tenant key or one that names no tenant.

    Rows a `global_rows` predicate declares global are exempt. In a lazy migration, a NULL key is
    expected on the rows of users who have not signed in since the deploy (not migrated yet), and
    those rows must still be theirs: not in a tenant their owner is not an active member of.
    """
    found = []
    lazy = model.lazy_migration
    for table in model.data_tables:
        key = sql.Identifier(table.key)
        scoped = sql.SQL("not {}").format(predicate(table.global_rows)) if table.global_rows else sql.SQL("true")
        owner = lazy.owner_column if lazy and table.name != model.membership_table else None
        if owner is not None and owner not in model.table(table.name).columns:
            owner = None
        pending = model.user_pending(sql.Identifier("t", owner)) if owner else sql.SQL("false")
        nulls = sql.SQL("{} t where t.{} is null and {} and not {}").format(_ident(table.name), key, scoped, pending)
        example = _key_text(model, table.name)
        what = f"rows with NULL {table.key}" + (" not declared global" if table.global_rows else "")
        if owner:
            what += f" not awaiting their user's first sign-in (by {owner})"
        found += _violation(conn, str(table.name), what, nulls, example, limit)
        tenant_key = sql.Identifier(model.config.tenant_table_key)
        dangling = sql.SQL(
            "{} t where t.{} is not null and {} and not exists (select 1 from {} o where o.{} = t.{})"
        ).format(_ident(table.name), key, scoped, _ident(model.tenant_table), tenant_key, key)
        example = sql.SQL("{} || ' -> ' || t.{}::text").format(_key_text(model, table.name), key)
        found += _violation(
            conn, str(table.name), f"rows whose {table.key} names no row of {model.tenant_table}", dangling, example,
            limit,
        )  # fmt: skip
        if owner:
            found += _taken_from_pending(conn, model, table, owner, limit)
    return found


def _taken_from_pending(conn: Conn, model: TenancyModel, table: TenantTable, owner: str, limit: int) -> list[Violation]:
    """Lazy migration: rows of users not migrated yet are still theirs (in no tenant, or one they are a member of)."""
    m = model.config.membership
    rows = sql.SQL(
        "{t} t where t.{key} is not null and {pending} and not exists (select 1 from {members} m "
        "where m.{mtenant} = t.{key} and m.{muser} = t.{owner} and {active})"
    ).format(
        t=_ident(table.name), key=sql.Identifier(table.key), pending=model.user_pending(sql.Identifier("t", owner)),
        members=_ident(model.membership_table), mtenant=sql.Identifier(m.tenant_column),
        muser=sql.Identifier(m.user_column), owner=sql.Identifier(owner), active=_active(model),
    )  # fmt: skip
    example = sql.SQL("{} || ' -> ' || t.{}::text").format(_key_text(model, table.name), sql.Identifier(table.key))
    what = f"rows awaiting their user's first sign-in (by {owner}) in a tenant that user is no active member of"
    return _violation(conn, str(table.name), what, rows, example, limit)


def orphans(conn: Conn, model: TenancyModel, limit: int) -> list[Violation]:
    """No child row points at a parent that does not exist, along every foreign key (validated or not)."""
    found = []
    for fk in model.foreign_keys_in_scope():
        found += _orphans_along(conn, model, fk, limit)
    return found


def _orphans_along(conn: Conn, model: TenancyModel, fk: ForeignKey, limit: int) -> list[Violation]:
    # MATCH SIMPLE: a reference with any NULL column is not checked.
    not_null = sql.SQL(" and ").join(sql.SQL("t.{} is not null").format(sql.Identifier(c)) for c in fk.child_columns)
    join = sql.SQL(" and ").join(
        sql.SQL("p.{} = t.{}").format(sql.Identifier(pc), sql.Identifier(cc))
        for cc, pc in zip(fk.child_columns, fk.parent_columns, strict=True)
    )
    rows = sql.SQL("{} t where {} and not exists (select 1 from {} p where {})").format(
        _ident(fk.child), not_null, _ident(fk.parent), join
    )
    return _violation(conn, str(fk.child), f"orphaned rows along {fk}", rows, _key_text(model, fk.child), limit)


def cross_tenant_children(conn: Conn, model: TenancyModel, limit: int) -> list[Violation]:
    """For every foreign key between two tenant tables, the child belongs to its parent's tenant."""
    found = []
    for fk, child, parent in model.tenant_foreign_keys():
        found += _cross_tenant(conn, model, fk, child, parent, limit)
    return found


def _cross_tenant(
    conn: Conn, model: TenancyModel, fk: ForeignKey, child: TenantTable, parent: TenantTable, limit: int
) -> list[Violation]:
    join = sql.SQL(" and ").join(
        sql.SQL("p.{} = t.{}").format(sql.Identifier(pc), sql.Identifier(cc))
        for cc, pc in zip(fk.child_columns, fk.parent_columns, strict=True)
    )
    # A child may reference a row its parent table declares global (shared by every tenant).
    parents = (
        sql.SQL("(select * from {} where not {})").format(_ident(parent.name), predicate(parent.global_rows))
        if parent.global_rows
        else _ident(parent.name)
    )
    rows = sql.SQL("{} t join {} p on {} where t.{} is distinct from p.{}").format(
        _ident(child.name), parents, join, sql.Identifier(child.key), sql.Identifier(parent.key)
    )
    example = sql.SQL(
        "{} || ' (' || coalesce(t.{}::text, 'NULL') || ' vs parent ' || coalesce(p.{}::text, 'NULL') || ')'"
    ).format(_key_text(model, child.name), sql.Identifier(child.key), sql.Identifier(parent.key))
    what = f"rows in another tenant than their parent along {fk}"
    return _violation(conn, str(child.name), what, rows, example, limit)


@dataclass
class Counts:
    users: int
    tenants: int
    personal_workspaces: int | None
    memberships: int
    active_memberships: int
    tenants_with_members: int
    # Lazy migration: users who signed in since the deploy (the migrated ones).
    signed_in: int | None = None

    def __str__(self) -> str:
        personal = f" ({self.personal_workspaces} personal)" if self.personal_workspaces is not None else ""
        signed_in = f" ({self.signed_in} signed in since the deploy)" if self.signed_in is not None else ""
        return (
            f"users {self.users}{signed_in}, tenants {self.tenants}{personal}, memberships {self.memberships} "
            f"({self.active_memberships} active), tenants with an active member {self.tenants_with_members}"
        )


def counts(conn: Conn, model: TenancyModel) -> Counts:
    m = model.config.membership
    source = personal_workspaces(model)
    personal = sql.SQL("(select count(*) from {} p)").format(source) if source is not None else sql.SQL("null::bigint")
    signed_in = (
        sql.SQL("(select count(*) from {} u where {})").format(
            _ident(model.user_table), model.signed_in_since_deploy("u")
        )
        if model.lazy_migration
        else sql.SQL("null::bigint")
    )
    row = conn.execute(
        sql.SQL(
            "select (select count(*) from {users}), (select count(*) from {tenants}), {personal}, "
            "(select count(*) from {members} m), (select count(*) from {members} m where {active}), "
            "(select count(distinct m.{mtenant}) from {members} m where {active}), {signed_in}"
        ).format(
            users=_ident(model.user_table),
            tenants=_ident(model.tenant_table),
            personal=personal,
            members=_ident(model.membership_table),
            active=_active(model),
            mtenant=sql.Identifier(m.tenant_column),
            signed_in=signed_in,
        )
    ).fetchone()
    assert row is not None
    return Counts(*(None if v is None else int(v) for v in row))  # type: ignore[arg-type]


def count_mismatches(found: Counts, model: TenancyModel) -> list[str]:
    """The runbook's migration success indicators: organizations created = users (a lazy migration:
    = unique users signing in since the deploy), memberships = organizations."""
    problems = []
    personal = found.personal_workspaces
    if personal is not None and model.workspace_per_user:
        lazy = found.signed_in is not None
        expected = found.signed_in if found.signed_in is not None else found.users
        who = "users signed in since the deploy" if lazy else "users"
        if personal != expected:
            gap = f"{expected - personal} missing" if personal < expected else f"{personal - expected} too many"
            problems.append(f"personal workspaces created ({personal}) != {who} ({expected}): {gap}")
    if found.tenants_with_members != found.tenants:
        problems.append(
            f"tenants with an active membership ({found.tenants_with_members}) != tenants ({found.tenants})"
        )
    if found.active_memberships < found.tenants:
        problems.append(f"fewer active memberships ({found.active_memberships}) than tenants ({found.tenants})")
    return problems
