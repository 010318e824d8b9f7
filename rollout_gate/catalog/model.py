"""Plain records of what `read_catalog` found; no SQL here."""

from __future__ import annotations

from dataclasses import dataclass, field

from rollout_gate.catalog.names import QualifiedName


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool = False
    has_default: bool = False
    # Identity ALWAYS or generated columns: never written explicitly.
    generated: bool = False
    # The labels of its enum type (or of its array's element type), in declared order.
    enum_values: tuple[str, ...] = ()

    @property
    def is_array(self) -> bool:
        return self.type.endswith("[]")


@dataclass(frozen=True)
class Policy:
    table: QualifiedName
    name: str
    command: str  # SELECT | INSERT | UPDATE | DELETE | ALL
    roles: tuple[str, ...]  # "public" means every role
    permissive: bool
    using: str | None
    check: str | None
    # Neither expression references a column of the row: the policy lets a caller see all rows or none.
    row_independent: bool = False
    # Signatures of the functions its expressions call (the catalog's dependencies, not a text search).
    functions: tuple[str, ...] = ()

    @property
    def for_every_role(self) -> bool:
        """Granted to PUBLIC (no TO clause, or TO public): it applies to every role, the anonymous one too."""
        return "public" in self.roles

    def applies_to(self, command: str, role: str) -> bool:
        return self.command in (command, "ALL") and ("public" in self.roles or role in self.roles)

    def describe(self) -> str:
        kind = "" if self.permissive else " RESTRICTIVE"
        parts = [f"{self.name} ({self.command}{kind} to {', '.join(self.roles)}"]
        if self.using is not None:
            parts.append(f"USING {self.using}")
        if self.check is not None:
            parts.append(f"WITH CHECK {self.check}")
        return " ".join(parts) + ")"


@dataclass(frozen=True)
class ForeignKey:
    name: str
    child: QualifiedName
    child_columns: tuple[str, ...]
    parent: QualifiedName
    parent_columns: tuple[str, ...]
    validated: bool = True

    def __str__(self) -> str:
        return (
            f"{self.child}({', '.join(self.child_columns)}) -> {self.parent}({', '.join(self.parent_columns)})"
            f" [{self.name}]"
        )


@dataclass(frozen=True)
class Check:
    """A CHECK constraint: the columns it names and its definition as the server prints it."""

    name: str
    columns: tuple[str, ...]
    definition: str


@dataclass
class Table:
    name: QualifiedName
    owner: str
    columns: dict[str, Column]
    primary_key: tuple[str, ...] = ()
    # Columns that are alone a unique key (primary key or unique index/constraint).
    unique_columns: frozenset[str] = frozenset()
    # Columns of any unique key (so an INSERT template must not copy them).
    unique_key_columns: frozenset[str] = frozenset()
    rls_enabled: bool = False
    rls_forced: bool = False
    owner_bypasses_rls: bool = False
    # First key column of every index.
    index_leading_columns: frozenset[str] = frozenset()
    # role -> privileges (SELECT/INSERT/UPDATE/DELETE) held on the table or on any of its columns.
    privileges: dict[str, frozenset[str]] = field(default_factory=dict)
    # role -> columns that role may UPDATE.
    updatable_columns: dict[str, frozenset[str]] = field(default_factory=dict)
    rows_estimate: int = 0
    checks: tuple[Check, ...] = ()

    def granted_to(self, role: str) -> bool:
        return bool(self.privileges.get(role))


@dataclass(frozen=True)
class View:
    name: QualifiedName
    materialized: bool
    security_invoker: bool
    reads: frozenset[QualifiedName]
    privileges: dict[str, frozenset[str]]


@dataclass(frozen=True)
class Function:
    name: QualifiedName
    signature: str
    security_definer: bool
    # API roles that may execute it.
    executable_by: frozenset[str]
    # Tables its body mentions by name (plain text search: function bodies are not parsed).
    mentions: frozenset[QualifiedName]
    # Argument types (format_type), in order.
    argument_types: tuple[str, ...] = ()
    # Tables its body names after INSERT INTO (plain text search, like `mentions`).
    inserts: frozenset[QualifiedName] = frozenset()
    # Its SET clauses (pg_proc.proconfig), e.g. ("search_path=public, pg_temp",).
    config: tuple[str, ...] = ()
    # PUBLIC (every role) may execute it: the default for a new function unless revoked.
    public_execute: bool = False
    # Part of an extension (not the team's own code).
    from_extension: bool = False
    # User-editable JWT metadata its body names (`user_metadata`, `raw_user_meta_data`); comments ignored.
    user_metadata: frozenset[str] = frozenset()
    # Signatures of catalog functions its body calls by name (plain text search, like `mentions`).
    calls: frozenset[str] = frozenset()

    @property
    def search_path(self) -> str | None:
        """The search_path the function fixes for itself, or None when it runs with the caller's."""
        for setting in self.config:
            name, _, value = setting.partition("=")
            if name.strip().lower() == "search_path":
                return value
        return None


@dataclass
class Catalog:
    tables: dict[QualifiedName, Table]
    foreign_keys: list[ForeignKey]
    policies: list[Policy]
    views: list[View]
    # SECURITY DEFINER functions of the schemas.
    functions: list[Function]
    # Role names that exist on the server.
    roles: frozenset[str]
    server_version: int = 0
    # Every function of the schemas (definer or not) and every function a policy calls, by signature.
    routines: dict[str, Function] = field(default_factory=dict)
    # Where the identity of the caller is read: source (`auth.uid()`, `request.jwt.claims`, or a setting
    # name read by current_setting) -> the policies and functions (of the schemas) that read it.
    identity_reads: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def table(self, name: QualifiedName) -> Table | None:
        return self.tables.get(name)

    def policies_on(self, table: QualifiedName) -> list[Policy]:
        return [p for p in self.policies if p.table == table]

    def policies_for(self, table: QualifiedName, command: str, role: str) -> list[Policy]:
        return [p for p in self.policies_on(table) if p.applies_to(command, role)]

    def describe_policies(self, table: QualifiedName, command: str, role: str) -> str:
        found = self.policies_for(table, command, role)
        if not found:
            return f"no {command} policy for {role} on {table}"
        return "; ".join(p.describe() for p in found)
