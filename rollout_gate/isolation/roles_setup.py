"""What the role matrix acts on, made as admin inside its rolled-back transaction.

A test tenant T with an active owner and rows in the most tenant tables; users who are not members of T,
made members of T in every declared role (plus an inactive owner where a status column exists, and a
lowest-role member whose membership the others try to manage); a signed-in non-member; and for every
table one row of T to update and delete (made from a row of another tenant, or from the table's columns,
when T has none). T's own owners join as positive controls only: a right the schema ties to the tenant
row (a primary owner deleting its account) is theirs, not a made owner's. Role columns may be scalar
(text, enum) or arrays of them: the kind is read from the catalog, and membership rows are built
accordingly.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from rollout_gate.catalog.model import Table
from rollout_gate.catalog.names import QualifiedName, qualify
from rollout_gate.catalog.tenancy import TenancyModel, TenantTable
from rollout_gate.config.models import Capability, InvitationsConfig
from rollout_gate.isolation.rowgen import RowError, RowPlan, fresh_value, plan_row

# Tried in order for the inactive member's status, after the values the column already holds.
_INACTIVE_GUESSES = ("suspended", "inactive", "disabled", "deactivated", "removed", "blocked", "pending", "false")
_CANDIDATE_TENANTS = 50


# A planned INSERT and how to find its row afterwards: (exists-query, params, what it is).
Planned = tuple[RowPlan, tuple[sql.Composed | sql.SQL, Any, str]]


class SetupError(Exception):
    """The matrix has nothing to act on (no tenant with an owner, too few users): inconclusive."""


@dataclass(frozen=True)
class Actor:
    label: str
    user_id: str
    email: str | None
    role: str | None
    active_member: bool
    # The tenant id handed to the impersonation (used where it sets a tenant, not a user).
    tenant_for_claims: str
    capabilities: frozenset[str] = frozenset()

    def may(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def __str__(self) -> str:
        return f"{self.label} (user {self.user_id})"


@dataclass(frozen=True)
class RowTarget:
    table: QualifiedName
    ctid: str
    keys: str  # primary-key values as `col=value` (never row data)


@dataclass(frozen=True)
class MembershipShape:
    table: Table
    user_column: str
    tenant_column: str
    role_column: str

    @property
    def role_is_array(self) -> bool:
        return self.type_of(self.role_column).endswith("[]")

    def type_of(self, column: str) -> str:
        return self.table.columns[column].type

    def role_value(self, current: str | None, role: str) -> Any:
        """The role column's value holding `role` (for an array: the current roles plus it)."""
        if not self.role_is_array:
            return role
        return [r for r in (current,) if r and r != role] + [role]

    def has(self, column: str, value: str) -> sql.Composed:
        """Exists-query (params: user, tenant) for a membership whose `column` holds `value`."""
        if column == self.role_column and self.role_is_array:
            predicate = sql.SQL("{} = any(m.{}::text[])").format(sql.Literal(value), sql.Identifier(column))
        else:
            predicate = sql.SQL("m.{}::text = {}").format(sql.Identifier(column), sql.Literal(value))
        return self.exists_query(close=False) + sql.SQL(" and ") + predicate + sql.SQL(")")

    def exists_query(self, close: bool = True) -> sql.Composed:
        query = sql.SQL("select exists (select 1 from {} m where m.{}::text = %s and m.{}::text = %s").format(
            self.table.name.ident, sql.Identifier(self.user_column), sql.Identifier(self.tenant_column)
        )
        return query + sql.SQL(")") if close else query


@dataclass
class Fixture:
    conn: psycopg.Connection[Any]
    model: TenancyModel
    tenant: str
    membership: MembershipShape
    lowest_role: str
    template: dict[str, Any]
    actors: list[Actor] = field(default_factory=list)
    outsider: Actor | None = None
    inactive: Actor | None = None
    new_user: str | None = None
    managed_tables: dict[QualifiedName, Capability] = field(default_factory=dict)
    targets: dict[QualifiedName, RowTarget] = field(default_factory=dict)
    missing: dict[QualifiedName, str] = field(default_factory=dict)
    memberships: dict[str, RowTarget] = field(default_factory=dict)
    templates: dict[QualifiedName, dict[str, Any]] = field(default_factory=dict)
    _plans: dict[tuple[QualifiedName, str], Planned | None] = field(
        default_factory=dict
    )

    def capable(self, capability: Capability) -> list[Actor]:
        """Active members holding `capability`, the owner role first."""
        owner = self.model.config.membership.owner_role
        found = [a for a in self.actors if a.active_member and a.may(capability)]
        return sorted(found, key=lambda a: a.role != owner)

    def tenant_key_of(self, table: QualifiedName) -> str:
        found = self.model.tenant_table_of(table)
        return found.key if found else self.model.config.tenant_key

    def membership_row(self, *, writer: Actor, member: str | None, role: str) -> RowPlan | None:
        """A membership of `member` in the test tenant with `role`, as `writer` would insert it."""
        if member is None:
            return None
        m = self.model.config.membership
        overrides: dict[str, Any] = {self.membership.role_column: self.membership.role_value(None, role)}
        if m.status_column:
            overrides[m.status_column] = m.active_value
        table = TenantTable(self.model.membership_table, m.tenant_column)
        try:
            return plan_row(
                self.conn, self.model, table, self.template, tenant=self.tenant, actor=writer.user_id,
                outsider=member, overrides=overrides,
            )  # fmt: skip
        except RowError:
            return None

    def plan_insert(self, table: TenantTable, who: Actor) -> Planned | None:
        """The row `who` tries to insert into `table` of the test tenant, and how to find it afterwards."""
        key = (table.name, who.user_id)
        if key not in self._plans:
            self._plans[key] = self._plan(table, who)
        return self._plans[key]

    def _plan(self, table: TenantTable, who: Actor) -> Planned | None:
        if table.name == self.model.membership_table:
            plan = self.membership_row(writer=who, member=self.new_user, role=self.lowest_role)
            if plan is None:
                return None
            m = self.membership
            return plan, (m.exists_query(), (self.new_user, self.tenant), f"(a membership of user {self.new_user})")
        template = self.templates.get(table.name)
        if template is None:
            return None
        meta = self.model.table(table.name)
        overrides = {}
        if len(meta.primary_key) == 1 and not meta.columns[meta.primary_key[0]].generated:
            with contextlib.suppress(RowError):  # a key type without fresh values: found by rowcount
                overrides[meta.primary_key[0]] = fresh_value(self.conn, meta, meta.primary_key[0])
        try:
            plan = plan_row(
                self.conn, self.model, table, template, tenant=self.tenant, actor=who.user_id,
                outsider=self.new_user, overrides=overrides,
            )  # fmt: skip
        except RowError as exc:
            self.missing.setdefault(table.name, str(exc))
            return None
        located = plan.locate()
        if located is not None:  # every primary-key column set (a composite key too): found by it
            where, params = located
            query = sql.SQL("select exists (select 1 from {} where {})").format(table.name.ident, where)
            return plan, (query, tuple(params), plan.keys[0])
        ident = next((c for c in sorted(meta.unique_columns) if plan.values.get(c) is not None), None)
        if ident is None:
            return plan, (sql.SQL("select false"), (), "")
        query = sql.SQL("select exists (select 1 from {} where {}::text = %s)").format(
            table.name.ident, sql.Identifier(ident)
        )
        return plan, (query, (str(plan.values[ident]),), f"{ident}={plan.values[ident]}")


def problems(model: TenancyModel) -> list[str]:
    """Where `tenancy.roles` / `tenancy.invitations` do not match the target (a configuration error)."""
    cfg = model.config
    out = []
    if cfg.membership.owner_role not in cfg.roles.root:
        out.append(
            f"tenancy.membership.owner_role: {cfg.membership.owner_role} is not a role of tenancy.roles "
            f"({', '.join(cfg.roles.names)})"
        )
    if isinstance(cfg.invitations, InvitationsConfig):
        name = qualify(cfg.invitations.table)
        table = model.catalog.table(name)
        if table is None:
            out.append(f"tenancy.invitations.table: {name} is not on the target (or write `invitations: none`)")
        elif model.tenant_table_of(name) is None:
            out.append(f"tenancy.invitations.table: {name} has no tenant key column {cfg.tenant_key}")
    return out


def prepare(conn: psycopg.Connection[Any], model: TenancyModel) -> Fixture:
    cfg, m = model.config, model.config.membership
    mtable = model.table(model.membership_table)
    shape = MembershipShape(mtable, m.user_column, m.tenant_column, m.role_column)
    roles = cfg.roles
    owner = m.owner_role
    lowest = min(reversed(roles.names), key=lambda r: len(roles.root[r]))
    tenant = _pick_tenant(conn, model, shape)
    template_row = conn.execute(
        sql.SQL("select to_jsonb(m) from {} m where m.{}::text = %s limit 1").format(
            model.membership_table.ident, sql.Identifier(m.tenant_column)
        ),
        (tenant,),
    ).fetchone()
    assert template_row is not None  # the tenant was picked for its owner membership
    fx = Fixture(conn, model, tenant, shape, lowest, template_row[0])
    fx.managed_tables[model.membership_table] = "manage_memberships"
    if isinstance(cfg.invitations, InvitationsConfig):
        fx.managed_tables[qualify(cfg.invitations.table)] = "manage_invitations"
    users = _users(conn, model, tenant, len(roles.names) + 4)
    if len(users) < len(roles.names) + 2:
        raise SetupError(f"{len(users)} user(s) outside tenant {tenant} in {model.user_table}: too few to make members")
    admin = Actor("admin", "", None, None, True, tenant)
    for role in roles.names:
        user, email, _ = users.pop(0)
        actor = Actor(role, user, email, role, True, tenant, frozenset(roles.root[role]))
        if _make_member(fx, admin, actor, role, active=True):
            fx.actors.append(actor)
    owners = [a for a in fx.actors if a.role == owner]
    if not owners:
        raise SetupError(f"could not make an {owner} member of tenant {tenant}: {fx.missing.get(mtable.name, '')}")
    # The tenant's own owners come after the made ones, for the controls only: a right the schema ties
    # to a column of the tenant row (a primary owner deleting its account) is theirs, not a new owner's.
    for user, email in _owners(conn, model, shape, tenant):
        fx.actors.append(Actor(f"existing {owner}", user, email, owner, True, tenant, frozenset(roles.root[owner])))
    if m.status_column:
        user, email, _ = users.pop(0)
        inactive = Actor(f"inactive {owner}", user, email, owner, False, tenant)
        if _make_member(fx, owners[0], inactive, owner, active=False):
            fx.actors.append(inactive)
            fx.inactive = inactive
    if users:
        user, email, _ = users.pop(0)
        target = Actor(f"managed {lowest}", user, email, lowest, True, tenant)
        if _make_member(fx, owners[0], target, lowest, active=True):
            fx.targets[model.membership_table] = fx.memberships[user]
    if users:
        user, email, own_tenant = users.pop(0)
        fx.outsider = Actor("non-member", user, email, None, False, own_tenant or "")
        fx.actors.append(fx.outsider)
    if users:
        fx.new_user = users.pop(0)[0]
    for table in model.tenant_tables:
        if table.name != model.membership_table:
            _target(fx, table, owners[0])
    for name in fx.managed_tables:
        if name != model.membership_table and name not in fx.targets:
            found = model.tenant_table_of(name)
            if found is not None:
                _target(fx, found, owners[0])
    return fx


def _role_predicate(shape: MembershipShape, role: str) -> sql.Composed:
    if shape.role_is_array:
        return sql.SQL("{} = any(m.{}::text[])").format(sql.Literal(role), sql.Identifier(shape.role_column))
    return sql.SQL("m.{}::text = {}").format(sql.Identifier(shape.role_column), sql.Literal(role))


def _active(model: TenancyModel) -> sql.Composable:
    m = model.config.membership
    if not m.status_column:
        return sql.SQL("true")
    return sql.SQL("m.{}::text = {}").format(sql.Identifier(m.status_column), sql.Literal(m.active_value))


def _pick_tenant(conn: psycopg.Connection[Any], model: TenancyModel, shape: MembershipShape) -> str:
    """A tenant with an active owner and rows in the most tenant tables (deterministic)."""
    m = model.config.membership
    candidates = [
        r[0]
        for r in conn.execute(
            sql.SQL(
                "select m.{t}::text from {members} m where {owner} and {active} group by 1 "
                "order by hashtextextended(m.{t}::text, 7) limit %s"
            ).format(
                t=sql.Identifier(m.tenant_column), members=model.membership_table.ident,
                owner=_role_predicate(shape, m.owner_role), active=_active(model),
            ),
            (_CANDIDATE_TENANTS,),
        ).fetchall()
    ]
    if not candidates:
        raise SetupError(f"no tenant has an active {m.owner_role} in {model.membership_table}")
    coverage = dict.fromkeys(candidates, 0)
    for table in model.data_tables:
        if table.name == model.membership_table:
            continue
        key_type = model.table(table.name).columns[table.key].type
        rows = conn.execute(
            sql.SQL("select x from unnest(%s::text[]) x where exists (select 1 from {} t where t.{} = x::{})").format(
                table.name.ident, sql.Identifier(table.key), sql.SQL(key_type)
            ),
            (candidates,),
        ).fetchall()
        for (tenant,) in rows:
            coverage[tenant] += 1
    return max(candidates, key=lambda t: (coverage[t], -candidates.index(t)))


def _owners(
    conn: psycopg.Connection[Any], model: TenancyModel, shape: MembershipShape, tenant: str
) -> list[tuple[str, str | None]]:
    """Up to two active owners `tenant` already has: (id, email)."""
    cfg, m = model.config, model.config.membership
    email = sql.SQL("u.email::text") if "email" in model.table(model.user_table).columns else sql.SQL("null::text")
    rows = conn.execute(
        sql.SQL(
            "select u.{ukey}::text, {email} from {members} m join {users} u on u.{ukey} = m.{mu} "
            "where m.{mt}::text = %s and {owner} and {active} order by 1 limit 2"
        ).format(
            ukey=sql.Identifier(cfg.user_key), email=email, members=model.membership_table.ident,
            users=model.user_table.ident, mu=sql.Identifier(m.user_column), mt=sql.Identifier(m.tenant_column),
            owner=_role_predicate(shape, m.owner_role), active=_active(model),
        ),
        (tenant,),
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def _users(
    conn: psycopg.Connection[Any], model: TenancyModel, tenant: str, n: int
) -> list[tuple[str, str | None, str]]:
    """Up to `n` users who are not members of `tenant`: (id, email, a tenant they actively belong to or '')."""
    cfg, m = model.config, model.config.membership
    email = sql.SQL("u.email::text") if "email" in model.table(model.user_table).columns else sql.SQL("null::text")
    rows = conn.execute(
        sql.SQL(
            "select id, email, own from (select u.{ukey}::text as id, {email} as email, "
            "coalesce((select min(m.{mt}::text) from {members} m where m.{mu} = u.{ukey} and {active}), '') as own "
            "from {users} u where not exists (select 1 from {members} m where m.{mu} = u.{ukey} and m.{mt}::text = %s)"
            ") u order by own = '', id limit %s"
        ).format(
            ukey=sql.Identifier(cfg.user_key), email=email, mt=sql.Identifier(m.tenant_column),
            mu=sql.Identifier(m.user_column), members=model.membership_table.ident, active=_active(model),
            users=model.user_table.ident,
        ),
        (tenant, n),
    ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def _make_member(fx: Fixture, writer: Actor, actor: Actor, role: str, *, active: bool) -> bool:
    """Insert (as admin) `actor`'s membership of the test tenant; inactive: with a status other than active."""
    m = fx.model.config.membership
    plan = fx.membership_row(writer=writer if writer.user_id else actor, member=actor.user_id, role=role)
    if plan is None:
        fx.missing[fx.model.membership_table] = f"cannot build a membership row for {actor}"
        return False
    statuses: list[Any] = [m.active_value]
    if not active and m.status_column:
        held = fx.conn.execute(
            sql.SQL("select distinct m.{c}::text from {} m where m.{c}::text <> %s limit 10").format(
                fx.model.membership_table.ident, c=sql.Identifier(m.status_column)
            ),
            (m.active_value,),
        ).fetchall()
        statuses = [r[0] for r in held] + [s for s in _INACTIVE_GUESSES if s != m.active_value]
    for status in statuses:
        if m.status_column:
            plan.values[m.status_column] = status
        try:
            with fx.conn.transaction():
                row = fx.conn.execute(
                    plan.insert() + sql.SQL(" returning ctid::text"), (json.dumps(plan.values, default=str),)
                ).fetchone()
        except psycopg.Error as exc:
            fx.missing[fx.model.membership_table] = f"{actor}: {(exc.diag.message_primary or str(exc)).strip()}"
            continue
        if row is not None:
            keys = f"{m.user_column}={actor.user_id}, {m.tenant_column}={fx.tenant}"
            fx.memberships[actor.user_id] = RowTarget(fx.model.membership_table, row[0], keys)
            return True
    return False


def _key_text(table: Table, row: dict[str, Any]) -> str:
    return ", ".join(f"{c}={row.get(c)}" for c in table.primary_key) or "(no primary key)"


def _target(fx: Fixture, table: TenantTable, owner: Actor) -> None:
    """One row of the test tenant in `table` to aim updates and deletes at (made as admin if none), and a template."""
    conn, meta = fx.conn, fx.model.table(table.name)
    key_type = meta.columns[table.key].type
    row = conn.execute(
        sql.SQL("select ctid::text, to_jsonb(t) from {} t where t.{} = %s::{} limit 1").format(
            table.name.ident, sql.Identifier(table.key), sql.SQL(key_type)
        ),
        (fx.tenant,),
    ).fetchone()
    if row is None and not table.is_tenant_table:
        row = _make_row(fx, table, owner)
    if row is None:
        fx.missing.setdefault(table.name, f"no row of tenant {fx.tenant}, and none could be made")
        return
    fx.targets[table.name] = RowTarget(table.name, row[0], _key_text(meta, row[1]))
    fx.templates[table.name] = row[1]


def _make_row(fx: Fixture, table: TenantTable, owner: Actor) -> tuple[str, dict[str, Any]] | None:
    """A row of the test tenant, copied from another tenant's row or built from the columns alone."""
    conn, meta = fx.conn, fx.model.table(table.name)
    got = conn.execute(sql.SQL("select to_jsonb(t) from {} t limit 1").format(table.name.ident)).fetchone()
    try:
        if got is not None:
            plan = plan_row(conn, fx.model, table, got[0], tenant=fx.tenant, actor=owner.user_id, outsider=fx.new_user)
        else:
            plan = _from_columns(fx, table, meta, owner)
    except RowError as exc:
        fx.missing[table.name] = str(exc)
        return None
    try:
        with conn.transaction():
            returning = sql.SQL(" returning ctid::text, to_jsonb({}.*)").format(sql.Identifier(table.name.name))
            made = conn.execute(plan.insert() + returning, (json.dumps(plan.values, default=str),)).fetchone()
    except psycopg.Error as exc:
        fx.missing[table.name] = f"making a row failed: {(exc.diag.message_primary or str(exc)).strip()}"
        return None
    return (made[0], made[1]) if made else None


def _from_columns(fx: Fixture, table: TenantTable, meta: Table, owner: Actor) -> RowPlan:
    """Values for the NOT NULL columns without a default (the rest is left to the table's defaults)."""
    user_columns = set(fx.model.user_columns(table.name))
    parents = {
        fk.child_columns[0]: fk for fk in fx.model.catalog.foreign_keys if fk.child == table.name
        and len(fk.child_columns) == 1
    }  # fmt: skip
    values: dict[str, Any] = {}
    for name, column in meta.columns.items():
        if column.generated:
            continue
        if name in user_columns and column.has_default:
            # An author stamp (`default auth.uid()`): as admin it would be NULL, so the owner's.
            values[name] = owner.user_id
        if column.has_default or not column.not_null:
            continue
        type_ = column.type
        if name == table.key:
            values[name] = fx.tenant
        elif name in user_columns:
            values[name] = owner.user_id
        elif name in parents:
            fk = parents[name]
            parent = fx.model.tenant_table_of(fk.parent)
            where: sql.Composable = sql.SQL("")
            if parent is not None:
                where = sql.SQL(" where p.{}::text = {}").format(sql.Identifier(parent.key), sql.Literal(fx.tenant))
            found = fx.conn.execute(
                sql.SQL("select to_jsonb(p.{}) from {} p{} limit 1").format(
                    sql.Identifier(fk.parent_columns[0]), fk.parent.ident, where
                )
            ).fetchone()
            if found is None:
                raise RowError(f"no row of {fk.parent} for {table.name}.{name}")
            values[name] = found[0]
        elif name == fx.membership.role_column:
            values[name] = [fx.lowest_role] if type_.endswith("[]") else fx.lowest_role
        elif "email" in name and (type_ in ("text", "citext") or type_.startswith("character varying")):
            values[name] = f"rg-probe-{uuid.uuid4().hex[:12]}@example.invalid"
        elif type_ == "boolean":
            values[name] = False
        elif type_.startswith(("numeric", "double", "real")):
            values[name] = 1
        elif type_.startswith(("timestamp", "date")):
            values[name] = "now"
        elif type_ in ("json", "jsonb"):
            values[name] = {}
        else:
            values[name] = fresh_value(fx.conn, meta, name)
    return RowPlan(table.name, values, list(values))
