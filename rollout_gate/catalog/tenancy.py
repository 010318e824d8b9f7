"""The target's tenancy model: the environment's `tenancy:` section completed from the catalog.

Tenant tables are every table of the configured schemas that carries the tenant key column
(unless the environment lists them), plus the tenant table itself (keyed by its own id) and the
membership table. Tables listed as global are left out. Names the environment gives but the
database lacks are collected as `problems`, so a check can fail with one clear line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rollout_gate.catalog.discover import complete
from rollout_gate.catalog.model import Catalog, ForeignKey, Table
from rollout_gate.catalog.names import QualifiedName, qualify
from rollout_gate.config.models import ResolvedTenancy, TenancyConfig

# Where a tenancy table would be had discovery found it: a model with problems is never read.
_NOWHERE = QualifiedName("", "")


@dataclass(frozen=True)
class TenantTable:
    name: QualifiedName
    # The column holding the tenant id: the tenant key, or the tenant table's own key.
    key: str
    is_tenant_table: bool = False

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
    owner_column = config.personal_workspace.owner_column
    if owner_column and catalog.table(tenant_table) and owner_column not in catalog.tables[tenant_table].columns:
        problems.append(f"tenancy.personal_workspace.owner_column: {tenant_table} has no column {owner_column}")

    tables: list[TenantTable] = []
    if catalog.table(tenant_table):
        tables.append(TenantTable(tenant_table, config.tenant_table_key, is_tenant_table=True))
    if config.tenant_tables:
        names = [qualify(t) for t in config.tenant_tables]
        for name in names:
            _require(catalog, name, [config.tenant_key], "tenancy.tenant_tables", problems)
    else:
        names = sorted(n for n, t in catalog.tables.items() if config.tenant_key in t.columns)
    if membership not in names and catalog.table(membership) and m.tenant_column == config.tenant_key:
        names.append(membership)
    for name in names:
        table = catalog.table(name)
        if table is None or name in global_tables or name == tenant_table:
            continue
        key = m.tenant_column if name == membership else config.tenant_key
        if key in table.columns:
            tables.append(TenantTable(name, key))
    if not any(not t.is_tenant_table for t in tables):
        problems.append(
            f"no tenant table found: no table of schemas {', '.join(config.schemas)} has a column {config.tenant_key}"
        )
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


def _require(catalog: Catalog, name: QualifiedName, columns: list[str], key: str, problems: list[str]) -> None:
    table = catalog.table(name)
    if table is None:
        problems.append(f"{key}: table {name} does not exist on the target")
        return
    missing = [c for c in columns if c not in table.columns]
    if missing:
        problems.append(f"{key}: {name} has no column {', '.join(missing)}")
