"""A sampled copy: the target's full schema with a fraction of every large table's rows.

Rows are copied between the pre-data and post-data sections of the schema (so no constraint
or trigger fires while loading), then rows whose foreign keys lost their parent in the
sample are deleted until none is left, so the post-data constraints can be created.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from rollout_gate.predeploy import pgtools

_USER_TABLES = """
select n.nspname, c.relname, greatest(c.reltuples, 0)::bigint,
       array(select a.attname from pg_attribute a
             where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
             order by a.attnum)
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'
order by 1, 2
"""

_FOREIGN_KEYS = """
select cn.nspname, cc.relname, pn.nspname, pc.relname,
       array(select a.attname from unnest(k.conkey) with ordinality u(n, o)
             join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.n order by u.o),
       array(select a.attname from unnest(k.confkey) with ordinality u(n, o)
             join pg_attribute a on a.attrelid = k.confrelid and a.attnum = u.n order by u.o)
from pg_constraint k
join pg_class cc on cc.oid = k.conrelid join pg_namespace cn on cn.oid = cc.relnamespace
join pg_class pc on pc.oid = k.confrelid join pg_namespace pn on pn.oid = pc.relnamespace
where k.contype = 'f' and cn.nspname not like 'pg\\_%' and cn.nspname <> 'information_schema'
"""


def copy_sampled(
    target_dsn: str, copy_dsn: str, archive: Path, *, percent: float, whole_below_rows: int, bin_dir: str | None
) -> None:
    """Build the sampled copy in the (empty) database `copy_dsn` from a schema-only `archive`."""
    pgtools.restore(copy_dsn, archive, bin_dir=bin_dir, section="pre-data")
    with pgtools.connect(target_dsn, readonly=True) as src, pgtools.connect(copy_dsn) as dst:
        # One consistent view of the target; fail rather than silently copy only the rows RLS shows.
        with src.transaction():
            src.execute("set transaction isolation level repeatable read, read only")
            src.execute("set local row_security = off")
            for schema, table, estimate, columns in src.execute(_USER_TABLES).fetchall():
                sample = int(estimate) >= whole_below_rows
                _copy_table(src, dst, schema, table, list(columns), percent if sample else None)
            foreign_keys = src.execute(_FOREIGN_KEYS).fetchall()
        # Sequence values travel in the archive's data section (pg_dump --sequence-data).
        pgtools.restore(copy_dsn, archive, bin_dir=bin_dir, section="data")
        _delete_orphans(dst, foreign_keys)
    pgtools.restore(copy_dsn, archive, bin_dir=bin_dir, section="post-data")


def _copy_table(
    src: psycopg.Connection[Any], dst: psycopg.Connection[Any], schema: str, table: str, columns: list[str],
    percent: float | None,
) -> None:  # fmt: skip
    relation = sql.Identifier(schema, table)
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    sample = (
        sql.SQL(" tablesample bernoulli ({}) repeatable (0)").format(sql.Literal(percent)) if percent else sql.SQL("")
    )
    out_query = sql.SQL("copy (select {} from {}{}) to stdout").format(cols, relation, sample)
    in_query = sql.SQL("copy {} ({}) from stdin").format(relation, cols)
    with src.cursor().copy(out_query) as out, dst.cursor().copy(in_query) as inp:
        for block in out:
            inp.write(block)


def _delete_orphans(dst: psycopg.Connection[Any], foreign_keys: list[tuple[Any, ...]]) -> None:
    """Delete rows whose (non-null) foreign key has no parent in the sample, until none is left."""
    statements = []
    for child_schema, child, parent_schema, parent, child_cols, parent_cols in foreign_keys:
        not_null = sql.SQL(" and ").join(sql.SQL("c.{} is not null").format(sql.Identifier(c)) for c in child_cols)
        match = sql.SQL(" and ").join(
            sql.SQL("p.{} = c.{}").format(sql.Identifier(p), sql.Identifier(c))
            for c, p in zip(child_cols, parent_cols, strict=True)
        )
        statements.append(
            sql.SQL("delete from {} c where {} and not exists (select 1 from {} p where {})").format(
                sql.Identifier(child_schema, child), not_null, sql.Identifier(parent_schema, parent), match
            )
        )
    for _ in range(50):  # each pass removes at least one level of a dependency chain
        deleted = sum(dst.execute(stmt).rowcount for stmt in statements)
        if not deleted:
            return
    raise RuntimeError("sampled copy: orphaned rows remain after 50 passes")
