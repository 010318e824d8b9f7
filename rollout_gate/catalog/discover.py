"""Guess the tenancy block of an environment from the target's catalog, each guess with its evidence.

Nothing here falls back to the reference app's names: a key is what the catalog shows, or it stays
unset with the reason. Two candidates that tie are both named and the key is left to the user; a
tie is never resolved by picking one. `discover` makes the guesses (keys the environment sets are
taken as given and anchor the rest); `complete` fills an environment's unset keys from them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

from rollout_gate.catalog.model import Catalog, Column, ForeignKey, Table
from rollout_gate.catalog.names import QualifiedName, qualify
from rollout_gate.catalog.read import RoleGrants, read_catalog
from rollout_gate.config.errors import ConfigError
from rollout_gate.config.models import CAPABILITIES, ResolvedMembership, ResolvedTenancy, TenancyConfig

# A user table is named like one; join tables that point at another such table (account_user) are not.
_USER_LIKE = re.compile(r"(^|_)(users?|people|persons?|identities|logins?)($|_)", re.I)
_ROLE_NAMES = ("role", "roles", "access", "access_level", "permission", "permissions", "level", "member_role",
               "membership_role", "user_role", "user_roles")  # fmt: skip
_STATUS_NAMES = ("status", "state", "membership_status", "member_status")
_ACTIVE_WORDS = ("active", "accepted", "enabled", "approved", "joined", "confirmed")
_OWNER_WORDS = ("owner", "primary_owner", "account_owner", "org_owner", "organization_owner", "team_owner")
_ADMIN_WORDS = ("admin", "administrator", "manager", "maintainer")
_READ_ONLY_WORDS = ("viewer", "reader", "read_only", "readonly", "read", "guest", "observer")
_LITERAL = re.compile(r"'((?:[^']|'')*)'")
# One element of an array literal ('{owner,admin}', '{"read only",admin}'), quoted or bare.
_ARRAY_ELEMENT = re.compile(r'"((?:[^"\\]|\\.)*)"|([^,{}"\s][^,{}"]*)')
_JWT_SOURCES = ("auth.uid()", "auth.jwt()", "request.jwt.claims")
# Keys `complete` fills; the optional ones mean "none" when nothing in the catalog fits.
REQUIRED_KEYS = (
    "user_table", "user_key", "tenant_table", "tenant_table_key", "tenant_key", "membership.table",
    "membership.user_column", "membership.tenant_column", "membership.role_column", "membership.owner_role",
)  # fmt: skip
OPTIONAL_KEYS = ("membership.status_column", "personal_workspace.function", "personal_workspace.owner_column")


@dataclass(frozen=True)
class Guess:
    """One key of the tenancy block: its value (None: not found), why, and the candidates of a tie."""

    key: str
    value: Any
    evidence: str
    candidates: tuple[str, ...] = ()
    given: bool = False
    # False when what it depends on was not found: nothing was looked at, so "not found" says nothing.
    looked: bool = True

    @property
    def ambiguous(self) -> bool:
        return len(self.candidates) > 1

    @property
    def found(self) -> bool:
        return self.value is not None and not self.ambiguous


@dataclass
class Discovery:
    """Every guess, by dotted key under `tenancy.` (`membership.table`), in the order of the block."""

    guesses: dict[str, Guess] = field(default_factory=dict)
    # Tables whose foreign key to the tenant table uses another column than the tenant key.
    tenant_keys: dict[str, str] = field(default_factory=dict)
    role_values: tuple[str, ...] = ()
    status_values: tuple[str, ...] = ()

    def __getitem__(self, key: str) -> Guess:
        return self.guesses[key]

    def value(self, key: str) -> Any:
        guess = self.guesses.get(key)
        return guess.value if guess is not None and guess.found else None

    def add(self, guess: Guess) -> Guess:
        self.guesses[guess.key] = guess
        return guess


def _given(config: TenancyConfig | None, key: str) -> tuple[bool, Any]:
    """(set in the environment, its value): a value, or an explicit `null` of an optional key (= none)."""
    if config is None:
        return False, None
    node: Any = config
    *parents, leaf = key.split(".")
    for part in parents:
        node = getattr(node, part)
        if node is None:
            return True, None  # the whole block is declared absent (`personal_workspace: none`)
    value = getattr(node, leaf)
    if value is not None:
        return True, value
    return (key in OPTIONAL_KEYS and leaf in node.model_fields_set), None


def _tie(key: str, candidates: Iterable[str], why: str) -> Guess:
    names = tuple(candidates)
    return Guess(key, None, f"ambiguous: {' and '.join(names)} {why}; set tenancy.{key} yourself", names)


def _single_fks(catalog: Catalog, *, parent: QualifiedName | None = None, child: QualifiedName | None = None
                ) -> list[ForeignKey]:  # fmt: skip
    return [
        fk
        for fk in catalog.foreign_keys
        if len(fk.child_columns) == 1
        and (parent is None or fk.parent == parent)
        and (child is None or fk.child == child)
    ]


def _top(counts: Mapping[str, int]) -> list[str]:
    """The names sharing the highest count (above zero)."""
    best = max(counts.values(), default=0)
    return sorted(name for name, n in counts.items() if n == best and best > 0)


def discover(catalog: Catalog, config: TenancyConfig | None = None, *, grants: Mapping[str, RoleGrants] | None = None
             ) -> Discovery:  # fmt: skip
    """Guess every key of the tenancy block the environment (`config`) does not set."""
    d = Discovery()
    user = _user_table(d, catalog, config)
    tenant = _tenant_table(d, catalog, config, user)
    membership = _membership(d, catalog, config, user, tenant)
    _membership_values(d, catalog, config, membership)
    _personal_workspace(d, catalog, config, user, tenant)
    _invitations(d, catalog, tenant, membership)
    _impersonation(d, catalog, grants)
    return d


def _key_of(d: Discovery, catalog: Catalog, config: TenancyConfig | None, key: str, table: QualifiedName | None,
            fks: list[ForeignKey]) -> None:  # fmt: skip
    """The column `fks` reference in `table` (else its one-column primary key)."""
    given, value = _given(config, key)
    if given:
        d.add(Guess(key, value, "set in the environment", given=True))
        return
    counts = Counter(fk.parent_columns[0] for fk in fks)
    top = _top(counts)
    if len(top) == 1:
        d.add(Guess(key, top[0], f"the column {counts[top[0]]} foreign key(s) to {table} reference"))
    elif len(top) > 1:
        d.add(_tie(key, top, f"are each referenced by {counts[top[0]]} foreign key(s) to {table}"))
    elif table is None:
        d.add(Guess(key, None, f"needs tenancy.{'user_table' if key == 'user_key' else 'tenant_table'}", looked=False))
    elif (meta := catalog.table(table)) is not None and len(meta.primary_key) == 1:
        d.add(Guess(key, meta.primary_key[0], f"the primary key of {table}"))
    else:
        d.add(Guess(key, None, f"no foreign key references {table} and it has no one-column primary key"))


def _user_table(d: Discovery, catalog: Catalog, config: TenancyConfig | None) -> QualifiedName | None:
    given, value = _given(config, "user_table")
    if given:
        d.add(Guess("user_table", value, "set in the environment", given=True))
        name: QualifiedName | None = qualify(value)
    else:
        name = None
        parents = {fk.parent for fk in catalog.foreign_keys} | set(catalog.tables)
        inbound = Counter(f"{fk.parent}" for fk in _single_fks(catalog))
        auth_users = QualifiedName("auth", "users")
        if auth_users in parents and inbound[str(auth_users)]:
            name = auth_users
            d.add(Guess("user_table", str(name), f"auth.users exists (Supabase's user table) and "
                        f"{inbound[str(name)]} foreign key(s) point at it"))  # fmt: skip
        else:
            like = {p for p in parents if _USER_LIKE.search(p.name)}
            # A table that itself references another user-like table is a join or profile table.
            candidates = {
                p for p in like if not any(fk.child == p and fk.parent in like - {p} for fk in catalog.foreign_keys)
            }
            counts = {str(p): inbound[str(p)] for p in candidates}
            top = _top(counts)
            if len(top) == 1:
                name = qualify(top[0])
                d.add(Guess("user_table", top[0], f"named like a user table, and the one most foreign keys point at "
                            f"({counts[top[0]]}{_others(counts, top[0])})"))  # fmt: skip
            elif len(top) > 1:
                d.add(
                    _tie("user_table", top, f"are user-like tables each referenced by {counts[top[0]]} foreign key(s)")
                )
            else:
                d.add(Guess("user_table", None, "no table named like a user table (users, people, identities...) "
                            "is referenced by a foreign key"))  # fmt: skip
    _key_of(d, catalog, config, "user_key", name, _single_fks(catalog, parent=name) if name else [])
    return name


def _others(counts: Mapping[str, int], chosen: str) -> str:
    rest = sorted(((n, c) for c, n in counts.items() if c != chosen), reverse=True)[:2]
    return "".join(f"; {c}: {n}" for n, c in rest)


def _tenant_table(d: Discovery, catalog: Catalog, config: TenancyConfig | None, user: QualifiedName | None
                  ) -> QualifiedName | None:  # fmt: skip
    given, value = _given(config, "tenant_table")
    name: QualifiedName | None = qualify(value) if given else None
    if given:
        d.add(Guess("tenant_table", value, "set in the environment", given=True))
    else:
        children: dict[str, set[QualifiedName]] = {}
        for fk in _single_fks(catalog):
            if fk.parent != user and fk.parent in catalog.tables and fk.child != fk.parent:
                children.setdefault(str(fk.parent), set()).add(fk.child)
        counts = {p: len(c) for p, c in children.items()}
        top = _top(counts)
        if len(top) == 1:
            name = qualify(top[0])
            d.add(Guess("tenant_table", top[0], f"referenced by {counts[top[0]]} table(s) "
                        f"({', '.join(sorted(map(str, children[top[0]])))}){_others(counts, top[0])}"))  # fmt: skip
        elif len(top) > 1:
            d.add(_tie("tenant_table", top, f"are each referenced by {counts[top[0]]} table(s)"))
        else:
            d.add(
                Guess(
                    "tenant_table", None, f"no table other than the user table ({user}) is referenced by a foreign key"
                )
            )
    fks = _single_fks(catalog, parent=name) if name else []
    _key_of(d, catalog, config, "tenant_table_key", name, fks)
    _tenant_key(d, config, name, fks)
    return name


def _tenant_key(
    d: Discovery, config: TenancyConfig | None, tenant: QualifiedName | None, fks: list[ForeignKey]
) -> None:
    by_table: dict[QualifiedName, set[str]] = {}
    for fk in fks:
        if fk.child != tenant:
            by_table.setdefault(fk.child, set()).add(fk.child_columns[0])
    given, value = _given(config, "tenant_key")
    if given:
        d.add(Guess("tenant_key", value, "set in the environment", given=True))
    else:
        counts = Counter(column for columns in by_table.values() for column in columns)
        top = _top(counts)
        if len(top) == 1:
            value = top[0]
            d.add(Guess("tenant_key", value, f"{counts[value]} of the {len(by_table)} table(s) referencing "
                        f"{tenant} do so by this column"))  # fmt: skip
        elif len(top) > 1:
            d.add(_tie("tenant_key", top, f"are each the column {counts[top[0]]} table(s) reference {tenant} by"))
            return
        else:
            d.add(Guess("tenant_key", None, f"no table references {tenant}") if tenant
                  else Guess("tenant_key", None, "needs tenancy.tenant_table", looked=False))  # fmt: skip
            return
    for table, columns in sorted(by_table.items()):
        if value not in columns and len(columns) == 1:
            d.tenant_keys[str(table)] = next(iter(columns))


def _membership(d: Discovery, catalog: Catalog, config: TenancyConfig | None, user: QualifiedName | None,
                tenant: QualifiedName | None) -> Table | None:  # fmt: skip
    given, value = _given(config, "membership.table")
    meta: Table | None = None
    if given:
        d.add(Guess("membership.table", value, "set in the environment", given=True))
        meta = catalog.table(qualify(value))
    elif user is None or tenant is None:
        d.add(Guess("membership.table", None, "needs the user table and the tenant table", looked=False))
    else:
        both = [
            t for n, t in sorted(catalog.tables.items())
            if n not in (user, tenant) and "invit" not in n.name.lower()
            and _single_fks(catalog, parent=user, child=n) and _single_fks(catalog, parent=tenant, child=n)
        ]  # fmt: skip
        ranked = {str(t.name): _membership_score(catalog, t, user, tenant) for t in both}
        top = _top(ranked)
        if len(top) == 1:
            meta = catalog.tables[qualify(top[0])]
            unique = "unique on (user, tenant)" if ranked[top[0]] >= 2 else "no unique key on (user, tenant)"
            role = "a role column" if ranked[top[0]] % 2 else "no role-like column"
            d.add(Guess("membership.table", top[0], f"references {user} and {tenant}; {unique}; {role} "
                        "(tables named like invitations are not memberships)"))  # fmt: skip
        elif len(top) > 1:
            d.add(
                _tie("membership.table", top, f"both reference {user} and {tenant} with a unique key and a role column")
            )
        else:
            d.add(Guess("membership.table", None, f"no table references both {user} and {tenant}"))
    name = meta.name if meta else None
    for key, parent in (("membership.user_column", user), ("membership.tenant_column", tenant)):
        _fk_column(d, catalog, config, key, name, parent)
    _named_column(
        d, config, "membership.role_column", meta, _is_role_column, "role (role, access, ... or a *role* type)"
    )
    return meta


def _membership_score(catalog: Catalog, table: Table, user: QualifiedName, tenant: QualifiedName) -> int:
    users = {fk.child_columns[0] for fk in _single_fks(catalog, parent=user, child=table.name)}
    tenants = {fk.child_columns[0] for fk in _single_fks(catalog, parent=tenant, child=table.name)}
    keyed = set(table.unique_key_columns) | set(table.primary_key)
    unique = any(u in keyed for u in users) and any(t in keyed for t in tenants)
    role = any(_is_role_column(c) for c in table.columns.values())
    return 2 * unique + role


def _fk_column(d: Discovery, catalog: Catalog, config: TenancyConfig | None, key: str, table: QualifiedName | None,
               parent: QualifiedName | None) -> None:  # fmt: skip
    given, value = _given(config, key)
    if given:
        d.add(Guess(key, value, "set in the environment", given=True))
        return
    if table is None or parent is None:
        d.add(Guess(key, None, "needs the membership table", looked=False))
        return
    meta = catalog.tables[table]
    columns = sorted({fk.child_columns[0] for fk in _single_fks(catalog, parent=parent, child=table)})
    if len(columns) > 1:  # created_by next to user_id: the one in the table's keys
        keyed = [c for c in columns if c in meta.unique_key_columns or c in meta.primary_key]
        columns = keyed or [c for c in columns if meta.columns[c].not_null] or columns
    if len(columns) == 1:
        d.add(Guess(key, columns[0], f"{table}.{columns[0]} references {parent}"))
    elif columns:
        d.add(_tie(key, columns, f"both reference {parent}"))
    else:
        d.add(Guess(key, None, f"no column of {table} references {parent}"))


def _is_role_column(column: Column) -> bool:
    return column.name.lower() in _ROLE_NAMES or "role" in column.type.lower()


def _is_status_column(column: Column) -> bool:
    return column.name.lower() in _STATUS_NAMES or "status" in column.type.lower()


def _named_column(
    d: Discovery, config: TenancyConfig | None, key: str, table: Table | None, test: Any, what: str
) -> None:
    given, value = _given(config, key)
    if given:
        d.add(Guess(key, value, "set in the environment (null: none)" if value is None else "set in the environment",
                    given=True))  # fmt: skip
        return
    if table is None:
        d.add(Guess(key, None, "needs the membership table", looked=False))
        return
    found = [c.name for c in table.columns.values() if test(c)]
    if len(found) == 1:
        d.add(Guess(key, found[0], f"{table.name}.{found[0]} ({table.columns[found[0]].type}) is named like a {what}"))
    elif found:
        d.add(_tie(key, found, f"are both named like a {what}"))
    else:
        d.add(Guess(key, None, f"no column of {table.name} is named like a {what}"))


def column_values(table: Table, column: str) -> tuple[tuple[str, ...], str]:
    """The values a column may hold, as its enum type or a CHECK on it lists them, and where they come from."""
    meta = table.columns.get(column)
    if meta is None:
        return (), f"{table.name} has no column {column}"
    if meta.enum_values:
        return meta.enum_values, f"enum {meta.type}"
    for check in table.checks:
        if column in check.columns:
            literals = (v.replace("''", "'") for v in _LITERAL.findall(check.definition))
            values = tuple(dict.fromkeys(v for literal in literals for v in _literal_values(literal)))
            if values:
                return values, f"CHECK {check.name}"
    return (), f"{table.name}.{column} ({meta.type}) has neither an enum type nor a CHECK listing its values"


def _literal_values(literal: str) -> list[str]:
    """A CHECK's literal as the values it lists: an array literal (`roles <@ '{owner,admin}'`) lists its elements."""
    if not (literal.startswith("{") and literal.endswith("}")):
        return [literal]
    found = []
    for quoted, bare in _ARRAY_ELEMENT.findall(literal[1:-1]):
        if quoted:
            found.append(re.sub(r"\\(.)", r"\1", quoted))
        elif bare.strip().upper() != "NULL":  # an unquoted NULL element is no value
            found.append(bare.strip())
    return found


def _membership_values(d: Discovery, catalog: Catalog, config: TenancyConfig | None, table: Table | None) -> None:
    role = d.value("membership.role_column")
    if table is not None and role:
        d.role_values, source = column_values(table, role)
        if d.role_values:
            kind = "array of roles" if table.columns[role].is_array else "one role"
            source = f"{kind}; values from {source}: {', '.join(d.role_values)}"
    else:
        source = ""
    key = "membership.owner_role"
    given, value = _given(config, key)
    if given:
        d.add(Guess(key, value, "set in the environment", given=True))
    elif not d.role_values:
        d.add(Guess(key, None, source or "needs the role column", looked=bool(source)))
    else:
        picked = [v for v in d.role_values if v.lower() in _OWNER_WORDS]
        if len(picked) == 1:
            d.add(Guess(key, picked[0], source))
        elif picked:
            d.add(_tie(key, picked, "are both named like an owner"))
        else:
            d.add(Guess(key, None, f"{source}; none is named like an owner"))
    _roles(d, config, source)
    _named_column(d, config, "membership.status_column", table, _is_status_column, "status (status, state)")
    status = d.value("membership.status_column")
    given, value = _given(config, "membership.active_value")
    if given:
        d.add(Guess("membership.active_value", value, "set in the environment", given=True))
    elif table is None or not status:
        d.add(Guess("membership.active_value", None, "no status column", looked=False))
    else:
        d.status_values, source = column_values(table, status)
        picked = [v for v in d.status_values if v.lower() in _ACTIVE_WORDS]
        listed = f"values from {source}: {', '.join(d.status_values)}" if d.status_values else source
        if len(picked) == 1:
            d.add(Guess("membership.active_value", picked[0], listed))
        elif picked:
            d.add(_tie("membership.active_value", picked, "are both named like an active membership"))
        else:
            d.add(Guess("membership.active_value", None, f"{listed}; none is named like {'/'.join(_ACTIVE_WORDS[:3])}"))


def _roles(d: Discovery, config: TenancyConfig | None, source: str) -> None:
    """`tenancy.roles` from the role values the catalog lists: the owner and admin-like values manage,
    read-only-named values only read, every other value reads and writes (the reference's own split)."""
    if config is not None and "roles" in config.model_fields_set:
        d.add(Guess("roles", dict(config.roles.root), "set in the environment", given=True))
        return
    if not d.role_values:
        d.add(Guess("roles", None, f"{source or 'needs the role column'}: the default roles apply", looked=False))
        return
    owner = d.value("membership.owner_role")
    roles: dict[str, list[str]] = {}
    for value in d.role_values:
        if value == owner or value.lower() in _ADMIN_WORDS:
            roles[value] = list(CAPABILITIES)
        elif value.lower() in _READ_ONLY_WORDS:
            roles[value] = ["read"]
        else:
            roles[value] = ["read", "write"]
    why = (
        f"{source}: the owner and {'/'.join(_ADMIN_WORDS[:2])} manage, {'/'.join(_READ_ONLY_WORDS[:3])} only read, "
        "the others read and write; check this against your policies"
    )
    d.add(Guess("roles", roles, why))


def _personal_workspace(d: Discovery, catalog: Catalog, config: TenancyConfig | None, user: QualifiedName | None,
                        tenant: QualifiedName | None) -> None:  # fmt: skip
    given, value = _given(config, "personal_workspace.function")
    user_key = d.value("user_key")
    if given:
        d.add(Guess("personal_workspace.function", value, "set in the environment (null: none)" if value is None
                    else "set in the environment", given=True))  # fmt: skip
    elif tenant is None or user is None or (users := catalog.table(user)) is None or user_key not in users.columns:
        d.add(Guess("personal_workspace.function", None, "needs the user table, its key and the tenant table",
                    looked=False))  # fmt: skip
    else:
        user_type = users.columns[user_key].type
        found = sorted(
            str(f.name) for f in catalog.functions
            if f.security_definer and f.argument_types == (user_type,) and tenant in f.inserts
        )  # fmt: skip
        why = f"a SECURITY DEFINER function taking one {user_type} (a user id) that inserts into {tenant}"
        if len(found) == 1:
            d.add(Guess("personal_workspace.function", found[0], why))
        elif found:
            d.add(_tie("personal_workspace.function", found, f"are each {why}"))
        else:
            d.add(Guess("personal_workspace.function", None, f"no {why}"))
    given, value = _given(config, "personal_workspace.owner_column")
    meta = catalog.table(tenant) if tenant else None
    if given:
        d.add(Guess("personal_workspace.owner_column", value, "set in the environment (null: none)" if value is None
                    else "set in the environment", given=True))  # fmt: skip
    elif meta is None or user is None:
        d.add(Guess("personal_workspace.owner_column", None, "needs the user table and the tenant table",
                    looked=False))  # fmt: skip
    else:
        columns = sorted({fk.child_columns[0] for fk in _single_fks(catalog, parent=user, child=meta.name)})
        unique = [c for c in columns if c in meta.unique_columns]
        why = f"unique column of {meta.name} referencing {user} (one workspace per user)"
        if len(unique) == 1:
            d.add(Guess("personal_workspace.owner_column", unique[0], f"the {why}"))
        elif unique:
            d.add(_tie("personal_workspace.owner_column", unique, f"are each a {why}"))
        else:
            d.add(Guess("personal_workspace.owner_column", None, f"no {why}"))


def _invitations(d: Discovery, catalog: Catalog, tenant: QualifiedName | None, membership: Table | None) -> None:
    if tenant is None:
        d.add(Guess("invitations.table", None, "needs the tenant table", looked=False))
        d.add(Guess("invitations.accept_function", None, "needs the invitation table", looked=False))
        return
    found = sorted(
        str(n) for n in catalog.tables if "invit" in n.name.lower() and _single_fks(catalog, parent=tenant, child=n)
    )  # fmt: skip
    why = f"named like invitations and referencing {tenant}"
    if len(found) != 1:
        d.add(
            _tie("invitations.table", found, f"are each {why}")
            if found
            else Guess("invitations.table", None, f"no table {why}")
        )
        d.add(Guess("invitations.accept_function", None, "needs the invitation table"))
        return
    d.add(Guess("invitations.table", found[0], why))
    table = qualify(found[0])
    accept = sorted(
        str(f.name) for f in catalog.functions
        if f.security_definer and table in f.mentions and membership is not None and membership.name in f.inserts
    )  # fmt: skip
    why = f"a SECURITY DEFINER function reading {table} that inserts into {membership.name if membership else '?'}"
    if len(accept) == 1:
        d.add(Guess("invitations.accept_function", accept[0], why))
    else:
        d.add(_tie("invitations.accept_function", accept, f"are each {why}") if accept
              else Guess("invitations.accept_function", None, f"no {why}"))  # fmt: skip


def _impersonation(d: Discovery, catalog: Catalog, grants: Mapping[str, RoleGrants] | None) -> None:
    reads = catalog.identity_reads
    jwt = [s for s in _JWT_SOURCES if s in reads]
    # Custom settings carry a dot (app.user_id); `role`, `search_path`... are the server's own.
    settings = [s for s in reads if s not in _JWT_SOURCES and "." in s]

    def where(source: str) -> str:
        places = reads[source]
        return f"{source} read by {', '.join(places[:3])}{' ...' if len(places) > 3 else ''}"

    if jwt and not settings:
        d.add(Guess("impersonation.mode", "supabase", "; ".join(where(s) for s in jwt)))
    elif settings and not jwt and len(settings) == 1:
        setting = settings[0]
        d.add(Guess("impersonation.mode", "setting", where(setting)))
        d.add(Guess("impersonation.setting", setting, where(setting)))
        lowered = setting.lower()
        value = "tenant" if re.search(r"tenant|org|account|team|workspace|company", lowered) else None
        value = "user" if re.search(r"user|uid|sub\b|person|member", lowered) else value
        if value:
            d.add(Guess("impersonation.setting_value", value, f"the setting's name ({setting})"))
        else:
            d.add(_tie("impersonation.setting_value", ("user", "tenant"), f"could each be what {setting} holds"))
    elif jwt or settings:
        d.add(_tie("impersonation.mode", [*jwt, *settings], "each identify the caller in policies or functions"))
    else:
        d.add(Guess("impersonation.mode", None, "no policy or function of the schemas reads auth.uid(), the JWT "
                    "claims or a current_setting"))  # fmt: skip
    _api_roles(d, catalog, grants)


def _api_roles(d: Discovery, catalog: Catalog, grants: Mapping[str, RoleGrants] | None) -> None:
    supabase = "authenticated" in grants if grants is not None else {"authenticated", "anon"} <= catalog.roles
    if supabase and "anon" in catalog.roles:
        d.add(Guess("impersonation.role", "authenticated", "Supabase's API roles exist"))
        d.add(Guess("impersonation.anon_role", "anon", "Supabase's API roles exist"))
        return
    if grants is None:
        d.add(Guess("impersonation.role", None, "grants not read", looked=False))
        return
    writes = {r: sum(g.privileges.get(p, 0) for p in ("INSERT", "UPDATE", "DELETE")) for r, g in grants.items()}
    # Roles the app switches to (NOLOGIN) before its logins.
    top: list[str] = []
    pool: dict[str, int] = {}
    for login in (False, True):
        pool = {r: n for r, n in writes.items() if grants[r].login == login}
        top = _top(pool)
        if top:
            break
    if len(top) == 1:
        d.add(Guess("impersonation.role", top[0], f"holds write grants on {pool[top[0]]} table(s) of the schemas "
                    f"(the most{', a role without LOGIN' if not grants[top[0]].login else ''})"))  # fmt: skip
    elif top:
        d.add(_tie("impersonation.role", top, "hold the most write grants"))
    else:
        d.add(Guess("impersonation.role", None, "no role but the owners holds write grants on the schemas' tables"))
    readers = sorted(r for r, g in grants.items() if not writes[r] and g.privileges.get("SELECT") and r not in top)
    if len(readers) == 1:
        d.add(Guess("impersonation.anon_role", readers[0], "holds read grants only"))
    elif readers:
        d.add(_tie("impersonation.anon_role", readers, "hold read grants only"))
    else:
        d.add(Guess("impersonation.anon_role", None, "no role holds read grants only"))


# -- filling an environment's unset keys ---------------------------------------------------------


def complete(config: TenancyConfig, catalog: Catalog) -> tuple[ResolvedTenancy, list[str]]:
    """`config` with every unset key discovered, and one line per key that could not be (then the
    returned block is incomplete: its unresolved keys are None and nothing may read it)."""
    if isinstance(config, ResolvedTenancy):
        return config, []
    found = discover(catalog, config)
    data = config.model_dump()
    problems: list[str] = []
    status_set = found.value("membership.status_column") is not None
    for key in (*REQUIRED_KEYS, *OPTIONAL_KEYS, "membership.active_value"):
        guess = found[key]
        if guess.given:
            continue
        required = key in REQUIRED_KEYS or (key == "membership.active_value" and status_set)
        if guess.found:
            _set(data, key, guess.value)
        elif guess.ambiguous or required:
            problems.append(f"tenancy.{key}: not set and not discoverable: {guess.evidence}")
    if data["personal_workspace"] is None:
        data["personal_workspace"] = "none"  # as the file wrote it: the validator reads only the word as none
    roles = found.guesses.get("roles")
    if roles is not None and roles.found and not roles.given:
        data["roles"] = roles.value
    if problems:
        fields = {name: getattr(config, name) for name in type(config).model_fields}
        fields["membership"] = ResolvedMembership.model_construct(**dict(config.membership))
        return ResolvedTenancy.model_construct(**fields), problems
    return ResolvedTenancy.model_validate(data), []


def _set(data: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    for part in parents:
        data = data[part]
    data[leaf] = value


def catalog_for(conn: psycopg.Connection[Any], config: TenancyConfig, *, roles: Iterable[str] = ()) -> Catalog:
    """The catalog discovery reads: the schemas, the tenancy tables the environment names wherever they
    are, and (for an unnamed user table) the tables the schemas' foreign keys point at elsewhere."""
    named = (config.user_table, config.tenant_table, config.membership.table)
    extra = [qualify(t) for t in named if t]
    return read_catalog(conn, config.schemas, extra_tables=extra, roles=roles, referenced=config.user_table is None)


def complete_from(conn: psycopg.Connection[Any], config: TenancyConfig) -> ResolvedTenancy:
    """`complete` on the catalog `conn` reads; a key that cannot be discovered is a ConfigError naming it."""
    if isinstance(config, ResolvedTenancy):
        return config
    resolved, problems = complete(config, catalog_for(conn, config))
    if problems:
        raise ConfigError("; ".join(problems))
    return resolved


def user_table_from(conn: psycopg.Connection[Any], config: TenancyConfig) -> tuple[str, str]:
    """The user table and its key (set, or discovered): all a check needs before the tenancy tables exist."""
    if config.user_table and config.user_key:
        return config.user_table, config.user_key
    found = discover(catalog_for(conn, config), config)
    for key in ("user_table", "user_key"):
        if not found[key].found:
            raise ConfigError(f"tenancy.{key}: not set and not discoverable: {found[key].evidence}")
    return found.value("user_table"), found.value("user_key")
