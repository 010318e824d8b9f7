"""The target's tenancy model: the environment's `tenancy:` section completed from the catalog.

Tenant tables are every table of the configured schemas that carries the tenant key column
(unless the environment lists them), the tables `tenant_keys` names with their own key column,
plus the tenant table itself (keyed by its own id) and the membership table. Tables listed as
global are left out; rows a `global_rows` predicate declares global stay in their table, marked.
Names the environment gives but the database lacks are collected as `problems`, so a check can
fail with one clear line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from psycopg import sql

from rollout_gate.catalog.discover import complete
from rollout_gate.catalog.model import Catalog, ForeignKey, Table
from rollout_gate.catalog.names import QualifiedName, qualify
from rollout_gate.config.models import MigrationConfig, PersonalWorkspaceConfig, ResolvedTenancy, TenancyConfig

# Where a tenancy table would be had discovery found it: a model with problems is never read.
_NOWHERE = QualifiedName("", "")


@dataclass(frozen=True)
class TenantTable:
    name: QualifiedName
    # The column holding the tenant id: the tenant key, or the tenant table's own key.
    key: str
    is_tenant_table: bool = False
    # `tenancy.global_rows`: SQL predicate over the row marking it global (exempt from the tenant-key checks).
    global_rows: str | None = None

    def __str__(self) -> str:
        return str(self.name)


@dataclass
class TenancyModel:
    config: ResolvedTenancy
    catalog: Catalog
    user_table: QualifiedName
    tenant_table: QualifiedName
    membership_table: QualifiedName
    tenant_tables: list[TenantTable]
    global_tables: frozenset[QualifiedName]
    problems: list[str] = field(default_factory=list)

    @property
    def personal_workspace(self) -> PersonalWorkspaceConfig | None:
        """The personal-workspace model; None where the environment declares `personal_workspace: none`."""
        return self.config.personal_workspace

    @property
    def lazy_migration(self) -> MigrationConfig | None:
        """`tenancy.migration` when the migration is lazy (workspace made at first sign-in), else None."""
        return self.config.migration if self.config.migration.mode == "lazy" else None

    @property
    def role_is_array(self) -> bool:
        """The membership role column holds an array of roles (text[] or enum[]), as the catalog says."""
        table = self.catalog.table(self.membership_table)
        column = table.columns.get(self.config.membership.role_column) if table else None
        return bool(column and column.type.endswith("[]"))

    def user_pending(self, user: sql.Composable) -> sql.Composable:
        """SQL (lazy migration): `user` has not signed in since the deploy, so is not migrated yet."""
        lazy = self.lazy_migration
        if lazy is None or lazy.signed_in_column is None:
            return sql.SQL("false")
        return sql.SQL(
            "exists (select 1 from {users} u where u.{key} = {user} and (u.{signed} is null or u.{signed} < {at}))"
        ).format(
            users=self.user_table.ident, key=sql.Identifier(self.config.user_key), user=user,
            signed=sql.Identifier(lazy.signed_in_column), at=sql.Literal(lazy.deployed_at),
        )  # fmt: skip

    def signed_in_since_deploy(self, alias: str) -> sql.Composable:
        """SQL over a user row: migrated (lazy: signed in at or after the deploy; eager: always)."""
        lazy = self.lazy_migration
        if lazy is None or lazy.signed_in_column is None:
            return sql.SQL("true")
        return sql.SQL("{} >= {}").format(sql.Identifier(alias, lazy.signed_in_column), sql.Literal(lazy.deployed_at))

    @property
    def workspace_per_user(self) -> bool:
        """Every (migrated) user must have a personal workspace: the model has them, and users need a tenant."""
        return (
            self.personal_workspace is not None
            and self.config.integrity.workspace_per_user
            and self.config.users_without_tenant == "forbidden"
        )

    def has_role(self, role_column: sql.Composable, role: str) -> sql.Composable:
        """SQL: the membership row (its role column, qualified) grants `role`, scalar or array alike."""
        if self.role_is_array:
            return sql.SQL("{} = any({})").format(sql.Literal(role), role_column)
        return sql.SQL("{} = {}").format(role_column, sql.Literal(role))

    def has_any_role(self, role_column: sql.Composable, roles: Iterable[str]) -> sql.Composable:
        """SQL: the membership row grants at least one of `roles`."""
        wanted = sql.Literal(list(roles))
        if self.role_is_array:
            return sql.SQL("{}::text[] && {}::text[]").format(role_column, wanted)
        return sql.SQL("{}::text = any({}::text[])").format(role_column, wanted)

    @property
    def member_role(self) -> str:
        return self.config.impersonation.role

    @property
    def anon_role(self) -> str | None:
        role = self.config.impersonation.anon_role
        return role if role and role in self.catalog.roles else None

    @property
    def api_roles(self) -> list[str]:
        return [r for r in (self.member_role, self.anon_role) if r]

    def table(self, name: QualifiedName) -> Table:
        table = self.catalog.table(name)
        if table is None:
            raise KeyError(f"{name} is not in the catalog")
        return table

    def tenant_table_of(self, name: QualifiedName) -> TenantTable | None:
        return next((t for t in self.tenant_tables if t.name == name), None)

    @property
    def data_tables(self) -> list[TenantTable]:
        """Tenant tables that hold tenant data under a tenant key (all but the tenant table itself)."""
        return [t for t in self.tenant_tables if not t.is_tenant_table]

    def user_columns(self, table: QualifiedName) -> list[str]:
        """Columns of `table` that reference the user table through a single-column foreign key."""
        return sorted(
            {
                fk.child_columns[0]
                for fk in self.catalog.foreign_keys
                if fk.child == table and fk.parent == self.user_table and len(fk.child_columns) == 1
            }
        )

    def foreign_keys_in_scope(self) -> list[ForeignKey]:
        """Foreign keys whose child is a table of the configured schemas (or a tenancy table)."""
        return [fk for fk in self.catalog.foreign_keys if fk.child in self.catalog.tables]

    def tenant_foreign_keys(self) -> list[tuple[ForeignKey, TenantTable, TenantTable]]:
        """Foreign keys from one tenant data table to another: the child's tenant must be the parent's."""
        out = []
        for fk in self.catalog.foreign_keys:
            child, parent = self.tenant_table_of(fk.child), self.tenant_table_of(fk.parent)
            if child is None or parent is None or child.is_tenant_table or parent.is_tenant_table:
                continue
            if child.key in fk.child_columns:
                continue  # the key is part of the reference itself: consistent by construction
            out.append((fk, child, parent))
        return out


def resolve_tenancy(given: TenancyConfig, catalog: Catalog) -> TenancyModel:
    # Keys the environment leaves out are discovered from the catalog, never defaulted to the reference's.
    config, problems = complete(given, catalog)
    if problems:
        return TenancyModel(config, catalog, _NOWHERE, _NOWHERE, _NOWHERE, [], frozenset(), problems)
    user_table = qualify(config.user_table)
    tenant_table = qualify(config.tenant_table)
    membership = qualify(config.membership.table)
    global_tables = frozenset(qualify(t) for t in config.global_tables)
    _require(catalog, user_table, [config.user_key], "tenancy.user_table", problems)
    _require(catalog, tenant_table, [config.tenant_table_key], "tenancy.tenant_table", problems)
    m = config.membership
    membership_columns = [
        m.user_column,
        m.tenant_column,
        m.role_column,
        *([m.status_column] if m.status_column else []),
    ]
    _require(catalog, membership, membership_columns, "tenancy.membership.table", problems)
    _personal_workspace_problems(config, catalog, tenant_table, problems)
    keys = {qualify(t): column for t, column in config.tenant_keys.items()}
    global_rows = {qualify(t): predicate for t, predicate in config.global_rows.items()}

    def key_of(name: QualifiedName) -> str:
        return m.tenant_column if name == membership else keys.get(name, config.tenant_key)

    tables: list[TenantTable] = []
    if catalog.table(tenant_table):
        tables.append(TenantTable(tenant_table, config.tenant_table_key, is_tenant_table=True))
    for name, column in keys.items():
        _require(catalog, name, [column], "tenancy.tenant_keys", problems)
        if name == membership and column != m.tenant_column:
            problems.append(f"tenancy.tenant_keys: {name} is the membership table; its key is membership.tenant_column")
    if config.tenant_tables:
        names = [qualify(t) for t in config.tenant_tables]
        for name in names:
            _require(catalog, name, [key_of(name)], "tenancy.tenant_tables", problems)
    else:
        names = sorted(n for n, t in catalog.tables.items() if key_of(n) in t.columns)
    names += [n for n in keys if n not in names]
    if membership not in names and catalog.table(membership) and m.tenant_column == config.tenant_key:
        names.append(membership)
    for name in names:
        table = catalog.table(name)
        if table is None or name in global_tables or name == tenant_table:
            continue
        key = key_of(name)
        if key in table.columns:
            tables.append(TenantTable(name, key, global_rows=global_rows.get(name)))
    if not any(not t.is_tenant_table for t in tables):
        problems.append(
            f"no tenant table found: no table of schemas {', '.join(config.schemas)} has a column {config.tenant_key}"
        )
    data_tables = {t.name for t in tables if not t.is_tenant_table}
    for name in global_rows:
        if name not in data_tables:
            problems.append(f"tenancy.global_rows: {name} is not a tenant table (global_tables exempts whole tables)")
    _migration_problems(config, catalog, user_table, [n for n in data_tables if n != membership], problems)
    return TenancyModel(
        config=config,
        catalog=catalog,
        user_table=user_table,
        tenant_table=tenant_table,
        membership_table=membership,
        tenant_tables=tables,
        global_tables=global_tables,
        problems=problems,
    )


def predicate(text: str) -> sql.Composable:
    """An environment file's SQL predicate, parenthesized; NULL counts as false."""
    return sql.SQL("coalesce(({}), false)").format(sql.SQL(text))  # type: ignore[arg-type]


def _personal_workspace_problems(
    config: TenancyConfig, catalog: Catalog, tenant_table: QualifiedName, problems: list[str]
) -> None:
    personal = config.personal_workspace
    if personal is None:
        return
    owner_column = personal.owner_column
    if owner_column and catalog.table(tenant_table) and owner_column not in catalog.tables[tenant_table].columns:
        problems.append(f"tenancy.personal_workspace.owner_column: {tenant_table} has no column {owner_column}")
    if personal.predicate is not None and not owner_column:
        problems.append("tenancy.personal_workspace.predicate: set owner_column too (whose workspace each one is)")


def _migration_problems(
    config: TenancyConfig,
    catalog: Catalog,
    user_table: QualifiedName,
    data_tables: list[QualifiedName],
    problems: list[str],
) -> None:
    lazy = config.migration
    if lazy.mode != "lazy" or lazy.signed_in_column is None or lazy.owner_column is None:
        return
    users = catalog.table(user_table)
    if users is not None and lazy.signed_in_column not in users.columns:
        problems.append(f"tenancy.migration.signed_in_column: {user_table} has no column {lazy.signed_in_column}")
    if not any(lazy.owner_column in catalog.tables[n].columns for n in data_tables if n in catalog.tables):
        problems.append(f"tenancy.migration.owner_column: no tenant table has a column {lazy.owner_column}")


def _require(catalog: Catalog, name: QualifiedName, columns: list[str], key: str, problems: list[str]) -> None:
    table = catalog.table(name)
    if table is None:
        problems.append(f"{key}: table {name} does not exist on the target")
        return
    missing = [c for c in columns if c not in table.columns]
    if missing:
        problems.append(f"{key}: {name} has no column {', '.join(missing)}")
