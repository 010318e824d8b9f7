"""Order-independent fingerprints of table contents, computed inside PostgreSQL.

One scan per table: rows are grouped into buckets by a hash of their primary
key, and each bucket keeps its row count and the sum of a 64-bit hash of the
row's text. Two snapshots that agree on every bucket hold the same rows; a
bucket that differs narrows a mismatch down to the rows whose keys hash there.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

SCHEMA_VERSION = 1
DEFAULT_BUCKETS = 256


@dataclass
class TableFingerprint:
    table: str
    key: list[str]
    columns: dict[str, str]  # column -> type, in ordinal order
    rows: int
    buckets: dict[int, tuple[int, int]] = field(default_factory=dict)  # bucket -> (count, hash sum)


@dataclass
class Snapshot:
    tables: dict[str, TableFingerprint]
    bucket_count: int = DEFAULT_BUCKETS
    schema_version: int = SCHEMA_VERSION

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "schema_version": self.schema_version,
            "bucket_count": self.bucket_count,
            "tables": {
                # Columns as ordered pairs: their order is part of every row's hash.
                name: {
                    **asdict(fp),
                    "columns": [[c, t] for c, t in fp.columns.items()],
                    "buckets": {str(b): list(v) for b, v in fp.buckets.items()},
                }
                for name, fp in self.tables.items()
            },
        }
        path.write_text(json.dumps(payload, indent=1, sort_keys=True))

    @classmethod
    def load(cls, path: Path) -> Snapshot:
        payload: dict[str, Any] = json.loads(path.read_text())
        tables = {
            name: TableFingerprint(
                table=fp["table"], key=fp["key"], columns={c: t for c, t in fp["columns"]}, rows=fp["rows"],
                buckets={int(b): (int(v[0]), int(v[1])) for b, v in fp["buckets"].items()},
            )
            for name, fp in payload["tables"].items()
        }  # fmt: skip
        return cls(tables=tables, bucket_count=payload["bucket_count"], schema_version=payload["schema_version"])


def discover_tables(conn: psycopg.Connection[Any], schemas: list[str]) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Ordinary tables in `schemas` with their primary key and columns."""
    rows = conn.execute(
        """
        select format('%%I.%%I', n.nspname, c.relname),
               coalesce((select array_agg(a.attname order by k.ord)
                         from pg_index i cross join lateral unnest(i.indkey) with ordinality k(attnum, ord)
                         join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
                         where i.indrelid = c.oid and i.indisprimary), '{}'),
               (select json_object_agg(a.attname, format_type(a.atttypid, a.atttypmod) order by a.attnum)
                from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped)
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and n.nspname = any(%s) and not c.relispartition
        order by 1
        """,
        (schemas,),
    ).fetchall()
    return {name: (list(key), dict(cols or {})) for name, key, cols in rows}


def fingerprint_table(
    conn: psycopg.Connection[Any], table: str, key: list[str], columns: dict[str, str], buckets: int
) -> TableFingerprint:
    schema, name = _split(table)
    relation = sql.Identifier(schema, name)
    row_expr = sql.SQL("row({})::text").format(sql.SQL(", ").join(sql.Identifier(c) for c in columns))
    key_expr = sql.SQL("row({})::text").format(sql.SQL(", ").join(sql.Identifier(c) for c in key)) if key else row_expr
    query = sql.SQL(
        "select (hashtextextended({key}, 0) & {mask})::int as bucket, count(*), "
        "sum(hashtextextended({row}, 0)) from {rel} group by 1"
    ).format(key=key_expr, mask=sql.Literal(buckets - 1), row=row_expr, rel=relation)
    result = {int(b): (int(n), int(s)) for b, n, s in conn.execute(query).fetchall()}
    return TableFingerprint(
        table=table, key=key, columns=columns, rows=sum(n for n, _ in result.values()), buckets=result
    )


def take_snapshot(conn: psycopg.Connection[Any], schemas: list[str], *, buckets: int = DEFAULT_BUCKETS) -> Snapshot:
    tables = {
        table: fingerprint_table(conn, table, key, columns, buckets)
        for table, (key, columns) in discover_tables(conn, schemas).items()
    }
    return Snapshot(tables=tables, bucket_count=buckets)


def _split(table: str) -> tuple[str, str]:
    schema, _, name = table.rpartition(".")
    return (schema or "public").strip('"'), name.strip('"')
