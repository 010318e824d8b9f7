"""Qualified names as environment files write them (`public.clients`) and as SQL needs them."""

from __future__ import annotations

from typing import NamedTuple

from psycopg import sql


class QualifiedName(NamedTuple):
    schema: str
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)


def qualify(text: str, default_schema: str = "public") -> QualifiedName:
    """`clients` -> public.clients; `"My Schema".t` -> (My Schema, t). Quotes are only stripped, not parsed."""
    schema, dot, name = text.rpartition(".")
    if not dot:
        schema = default_schema
    return QualifiedName(schema.strip().strip('"'), name.strip().strip('"'))
