"""Guess the tenant table and tenant key from a migration set, before it has run.

Before the migration the target's catalog has no tenant table to find, but the set that creates it
says what it is: the table the set creates that most tables of the set reference (in single-tenant to
multi-tenant migrations the tenants are new), and the column name those references use. Read from
the statements' text (`rollout_gate.predeploy.sqltext`), the way the migration lint reads them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psycopg

from rollout_gate.catalog.discover import catalog_for, discover
from rollout_gate.config.errors import ConfigError
from rollout_gate.config.models import TenancyConfig
from rollout_gate.predeploy import sqltext
from rollout_gate.predeploy.sqltext import IDENT, QUALIFIED

_INLINE = re.compile(rf"^\s*({IDENT})\b[^,]*?\breferences\s+({QUALIFIED})", re.I)
_TABLE_FK = re.compile(rf"\bforeign\s+key\s*\(\s*({IDENT})\s*\)\s*references\s+({QUALIFIED})", re.I)
_ADD_COLUMN = re.compile(
    rf"\badd\s+(?:column\s+)?(?:if\s+not\s+exists\s+)?({IDENT})\s[^,]*?\breferences\s+({QUALIFIED})", re.I
)
_NOT_COLUMNS = {"constraint", "primary", "unique", "foreign", "check", "exclude", "like"}


def references(files: Iterable[Path]) -> list[tuple[str, str, str]]:
    """(child table, column, parent table) of every one-column reference the set's statements declare."""
    found: list[tuple[str, str, str]] = []
    for path in files:
        for stmt in sqltext.split_statements(path.read_text(encoding="utf-8")):
            if table := sqltext.created_table(stmt):
                body = stmt.code[stmt.code.find("(") + 1 :]
                for part in _top_level_parts(body):
                    m = _INLINE.match(part)
                    if m and _word(m.group(1)) not in _NOT_COLUMNS:
                        found.append((table, _word(m.group(1)), sqltext.relation_name(m.group(2))))
                    found += [(table, _word(c), sqltext.relation_name(p)) for c, p in _TABLE_FK.findall(part)]
            elif table := sqltext.altered_table(stmt):
                found += [(table, _word(c), sqltext.relation_name(p)) for c, p in _TABLE_FK.findall(stmt.code)]
                found += [
                    (table, _word(c), sqltext.relation_name(p))
                    for c, p in _ADD_COLUMN.findall(stmt.code)
                    if _word(c) not in _NOT_COLUMNS
                ]
    return found


def _word(ident: str) -> str:
    return ident[1:-1].replace('""', '"') if ident.startswith('"') else ident.lower()


def _top_level_parts(body: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in body:
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                break
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def tenancy_for_lint(files: list[Path], config: TenancyConfig, conn: psycopg.Connection[Any]) -> tuple[str, str]:
    """The tenant table and key the migration lint checks the set against: as the environment sets them,
    else from the set (which creates the tenancy), else from the target's catalog (where it exists already)."""
    try:
        return tenancy_from_set(files, config.tenant_table, config.tenant_key)
    except ConfigError as from_set:
        found = discover(catalog_for(conn, config), config)
        if found["tenant_table"].found and found["tenant_key"].found:
            return found.value("tenant_table"), found.value("tenant_key")
        raise ConfigError(f"{from_set}; nor from the target's catalog: {found['tenant_table'].evidence}") from None


def tenancy_from_set(files: list[Path], tenant_table: str | None, tenant_key: str | None) -> tuple[str, str]:
    """The tenant table and key: as given, else from the migration set; a ConfigError names what is missing."""
    if tenant_table and tenant_key:
        return tenant_table, tenant_key
    refs = references(files)
    created = {
        table
        for path in files
        for stmt in sqltext.split_statements(path.read_text(encoding="utf-8"))
        if (table := sqltext.created_table(stmt))
    }
    if not tenant_table:
        children: dict[str, set[str]] = {}
        for child, _column, parent in refs:
            if parent in created and parent != child:
                children.setdefault(parent, set()).add(child)
        best = max((len(c) for c in children.values()), default=0)
        top = sorted(p for p, c in children.items() if len(c) == best and best)
        if len(top) != 1:
            why = (
                f"ambiguous: {' and '.join(top)} are each referenced by {best} table(s) of the migration set"
                if top
                else "no table the migration set creates is referenced by another"
            )
            raise ConfigError(f"tenancy.tenant_table: not set and not discoverable from the migration set: {why}")
        tenant_table = top[0]
    table = sqltext.relation_name(tenant_table)
    if not tenant_key:
        # Each table counts once per column name it references the tenant table by.
        names = Counter(column for _child, column in {(c, col) for c, col, p in refs if p == table and c != table})
        best = max(names.values(), default=0)
        top = sorted(n for n, k in names.items() if k == best and best)
        if len(top) != 1:
            why = f"ambiguous: {' and '.join(top)}" if top else f"no table of the set references {table}"
            raise ConfigError(f"tenancy.tenant_key: not set and not discoverable from the migration set: {why}")
        tenant_key = top[0]
    return tenant_table, tenant_key
