"""Order-independent fingerprints of table contents, computed inside PostgreSQL in one scan per table.

Every row gets two 64-bit hashes: `k` of its primary key and `r` of its fingerprinted columns,
`hash_record_extended(row(c1, c2, ...), 0)`: each column hashed by its type's own extended hash where
that hash tells exactly the values a migration must keep apart (`NATIVE_HASH_TYPES`; text-like ones
under the byte-wise "C" collation), every other column by its text (`c::text`). That is about 7x
cheaper per row than hashing the whole row's text, and independent of the session's TimeZone and
DateStyle, which the text of a timestamptz is not. Rows are grouped into buckets by the low bits of `k`, and each
bucket keeps a few 64-bit aggregates that let a later comparison name the differing rows, not just count them:

- `count`, `bit_xor(k)`, `bit_xor(r)`: a bucket whose aggregates differ holds a lost, added or changed row;
- `sum(k # r)`: ties a row hash to its key, so a changed row can be told apart from its unchanged
  neighbours (see `narrow.py`). It is summed, not xor-ed: an xor of `k # r` is `xor(k) # xor(r)`,
  which ties nothing (two rows swapping contents would cancel out);
- the xor of the key itself, for integer and (on PostgreSQL 18+) uuid keys: a single lost row's
  primary key is the xor of the two snapshots' values. Other key types report a lost row by key hash only.

xor is the difference of one row exactly as a sum is, and it costs less per row (`bit_xor(bigint)`
keeps a plain bigint; `sum(bigint)` a 128-bit state): at the sizes of issue 15 the aggregates, not the
reading, set the rate (BENCHMARKS.md). A table without a primary key is the exception (`bucket_ops`):
its `k` and `r` are the row hash, and an xor would cancel duplicate rows traded within one bucket (two
copies of A lost and two more of B made, A and B sharing a bucket, would xor the same), so that table
keeps sums. Sums are taken modulo 2^64 (exact
in the scan, folded to one bigint per bucket). A bucket is stored as a few 64-bit integers: the snapshot
file holds them packed (`BucketSums`), about 0.2 bytes per row at ~256 rows per bucket. No row leaves
the database, and the per-row work is two hashes and a few xors; the scan runs in parallel
where the plan (`plan.py`) allows it.
"""

from __future__ import annotations

import base64
import bisect
import json
import math
import re
import sys
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from rollout_gate.catalog.names import QualifiedName, qualify
from rollout_gate.errors import HarnessError

SCHEMA_VERSION = 5  # 5: xor aggregates (bucket_ops), was sums throughout
MIN_BUCKET_BITS = 8
# 2^22 buckets: ~256 rows per bucket up to ~1 G rows (a 4 M-bucket table stores ~170 MB of sums).
MAX_BUCKET_BITS = 22
ROWS_PER_BUCKET = 256
_MOD = 1 << 64
_HALF = 1 << 63
# Single-column keys of these types hash with their own function (cheaper than text, same spread).
KEY_HASH_FUNCTIONS = {
    "uuid": "uuid_hash_extended",
    "bigint": "hashint8extended",
    "integer": "hashint4extended",
    "smallint": "hashint2extended",
    "text": "hashtextextended",
}
INTEGER_TYPES = ("bigint", "integer", "smallint")
# Column types (and arrays of them) hashed by their own extended hash function in the row hash: those whose
# equality is identity for what a migration must keep (1.0 = 1.00 in numeric, -0 = 0 in floats; jsonb
# compares its numbers the same way). Anything else (json, interval, where '1 day' = '24 hours', citext,
# domains, enums, composites, extension types) is hashed by its text, as the whole row used to be.
NATIVE_HASH_TYPES = frozenset(
    {
        "smallint", "integer", "bigint", "oid", "boolean", "real", "double precision", "numeric", "money",
        "uuid", "date", "time without time zone", "timestamp without time zone", "timestamp with time zone",
        "bytea", "jsonb", "inet", "cidr", "macaddr", "macaddr8", "text", "character varying", "character", "name",
        '"char"',
    }
)  # fmt: skip
# Hashed under COLLATE "C" (bytes), so a nondeterministic collation cannot make 'Alice' and 'alice' one value.
_COLLATABLE = frozenset({"text", "character varying", "character", "name"})
_TYPMOD = re.compile(r"\(\d+(?:,\d+)?\)")
# `bytea::bigint` (used to split a uuid into two summable halves) exists from PostgreSQL 18.
UUID_PARTS_SINCE = 180000
# A sampled table (`integrity.sampling`) keeps the rows whose key hash bits 32..63, read as an unsigned
# 32-bit number, fall below `fraction * 2^32`: independent of the bucket bits (the low 22 at most), the
# same rows at baseline and compare, and as random as the hash for any pattern of keys.
SAMPLE_SCALE = 1 << 32


def sample_threshold(fraction: float) -> int:
    """The stored form of a sample fraction (at least one hash value in 2^32)."""
    return max(1, min(SAMPLE_SCALE, round(fraction * SAMPLE_SCALE)))


class BaselineError(HarnessError):
    """A baseline file that cannot be used (missing, from another format version, unreadable)."""


@dataclass(frozen=True)
class KeyCodec:
    """How a table's primary key is hashed and (where possible) summed, fixed at baseline time."""

    columns: tuple[str, ...]  # empty: no primary key, rows are identified by their row hash
    hash_function: str | None  # per-type function for a single-column key, else None (text of the key row)
    parts: tuple[str, ...] = ()  # per key column: "int", "uuid" or "" (not summable)
    # Sampled tables: rows whose key hash's high 32 bits are below this (`sample_threshold`); None = every row.
    sample: int | None = None

    @property
    def fraction(self) -> float | None:
        return None if self.sample is None else self.sample / SAMPLE_SCALE

    @property
    def recoverable(self) -> bool:
        return bool(self.columns) and all(self.parts)

    def part_count(self) -> int:
        return sum(2 if p == "uuid" else 1 for p in self.parts if p)


def wrap64(value: int) -> int:
    """`value` modulo 2^64 as a signed 64-bit integer (the arithmetic of every stored sum)."""
    return ((value + _HALF) % _MOD) - _HALF


def bucket_ops(codec: KeyCodec) -> tuple[str, ...]:
    """How each stored aggregate after the count combines a bucket's rows, "xor" or "sum" (mod 2^64), in
    the order k, r, k # r, key parts (the module docstring says why)."""
    if not codec.columns:
        return ("sum", "sum", "sum")
    parts = codec.part_count() if codec.recoverable else 0
    return ("xor", "xor", "sum") + ("xor",) * parts


def aggregate(op: str, values: Iterable[int]) -> int:
    """What the fingerprint query's aggregate `op` gives for these 64-bit values."""
    if op == "xor":
        out = 0
        for value in values:
            out ^= value
        return out
    return wrap64(sum(values))


def difference(op: str, now: int, before: int) -> int:
    """The aggregate of the rows in `now` and not in `before`, when that is one row (or its negation, for a
    sum of a row only in `before`): xor is its own inverse."""
    return now ^ before if op == "xor" else wrap64(now - before)


@dataclass
class BucketSums:
    """Per non-empty bucket, in bucket order: [count, k, r, k # r, *key parts], each aggregated as `bucket_ops`,
    held as two flat int64 arrays rather than a dict of lists (a 4 M-bucket table stays ~200 MB)."""

    width: int
    ids: array[int] = field(default_factory=lambda: array("q"))
    sums: array[int] = field(default_factory=lambda: array("q"))

    @classmethod
    def from_rows(cls, width: int, rows: Iterable[Sequence[int]]) -> BucketSums:
        """From (bucket, count, sums...) rows in bucket order, each value already folded to 64 bits."""
        out = cls(width)
        for row in rows:
            out.ids.append(row[0])
            out.sums.extend(row[1:])
        return out

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[int]:
        return iter(self.ids)

    def get(self, bucket: int) -> list[int] | None:
        i = bisect.bisect_left(self.ids, bucket)
        if i == len(self.ids) or self.ids[i] != bucket:
            return None
        return list(self.sums[i * self.width : (i + 1) * self.width])

    def items(self) -> Iterator[tuple[int, list[int]]]:
        w = self.width
        for i, bucket in enumerate(self.ids):
            yield bucket, list(self.sums[i * w : (i + 1) * w])

    def rows(self) -> int:
        return sum(self.sums[0 :: self.width]) if self.width else 0

    def encode(self) -> dict[str, Any]:
        """Little-endian int64 arrays, base64: compact and portable."""
        return {"width": self.width, "ids": _pack(self.ids), "sums": _pack(self.sums)}

    @classmethod
    def decode(cls, payload: dict[str, Any]) -> BucketSums:
        out = cls(int(payload["width"]), _unpack(payload["ids"]), _unpack(payload["sums"]))
        if len(out.sums) != len(out.ids) * out.width:
            raise ValueError("bucket ids and sums do not match")
        return out


def _pack(values: array[int]) -> str:
    data = array("q", values)
    if sys.byteorder == "big":
        data.byteswap()
    return base64.b64encode(data.tobytes()).decode("ascii")


def _unpack(text: str) -> array[int]:
    data = array("q")
    data.frombytes(base64.b64decode(text))
    if sys.byteorder == "big":
        data.byteswap()
    return data


@dataclass
class TableFingerprint:
    table: str
    key: list[str]
    columns: dict[str, str]  # column -> type, in ordinal order
    rows: int
    buckets: BucketSums = field(default_factory=lambda: BucketSums(4))
    bucket_bits: int = MIN_BUCKET_BITS
    key_hash: str | None = None
    key_parts: list[str] = field(default_factory=list)
    sample: int | None = None  # `KeyCodec.sample`: only a key-hash sample of the rows is fingerprinted

    @property
    def codec(self) -> KeyCodec:
        return KeyCodec(tuple(self.key), self.key_hash, tuple(self.key_parts), self.sample)


@dataclass
class Snapshot:
    tables: dict[str, TableFingerprint]
    server_version: int = 0
    schema_version: int = SCHEMA_VERSION
    # How the tables were read relative to one another (stated in reports; see baseline.py).
    consistency: str = ""

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "schema_version": self.schema_version,
            "server_version": self.server_version,
            "consistency": self.consistency,
            "tables": {
                name: {
                    "table": fp.table,
                    "key": fp.key,
                    "key_hash": fp.key_hash,
                    "key_parts": fp.key_parts,
                    # Ordered pairs: the column order is part of every row's hash.
                    "columns": [[c, t] for c, t in fp.columns.items()],
                    "rows": fp.rows,
                    "bucket_bits": fp.bucket_bits,
                    "buckets": fp.buckets.encode(),
                    "sample": fp.sample,
                }
                for name, fp in sorted(self.tables.items())
            },
        }
        path.write_text(json.dumps(payload, indent=0, sort_keys=True))

    @classmethod
    def load(cls, path: Path) -> Snapshot:
        try:
            payload: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise BaselineError(f"cannot read the baseline {path}: {exc}") from None
        if not isinstance(payload, dict):
            raise BaselineError(f"cannot read the baseline {path}: not a JSON object")
        version = payload.get("schema_version")
        if version != SCHEMA_VERSION:
            raise BaselineError(
                f"baseline {path} has format version {version}, this harness reads {SCHEMA_VERSION}: take it again"
            )
        try:
            tables = {
                name: TableFingerprint(
                    table=fp["table"], key=fp["key"], columns={c: t for c, t in fp["columns"]}, rows=fp["rows"],
                    buckets=BucketSums.decode(fp["buckets"]),
                    bucket_bits=fp["bucket_bits"], key_hash=fp["key_hash"], key_parts=fp["key_parts"],
                    sample=_sample_of(fp.get("sample")),
                )
                for name, fp in payload["tables"].items()
            }  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise BaselineError(f"cannot read the baseline {path}: malformed table entry ({exc})") from None
        return cls(
            tables=tables, server_version=payload.get("server_version", 0), schema_version=version,
            consistency=str(payload.get("consistency", "")),
        )  # fmt: skip


def _sample_of(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= SAMPLE_SCALE:
        raise ValueError(f"sample {value!r} is not a threshold in 1..2^32")
    return value


def discover_tables(
    conn: psycopg.Connection[Any], schemas: list[str], tables: Iterable[str] = ()
) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Ordinary tables in `schemas` (and the named `tables`) with their primary key and columns."""
    extra = [qualify(t) for t in tables]
    rows = conn.execute(
        """
        select format('%%s.%%s', n.nspname, c.relname),
               coalesce((select array_agg(a.attname order by k.ord)
                         from pg_index i cross join lateral unnest(i.indkey) with ordinality k(attnum, ord)
                         join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
                         where i.indrelid = c.oid and i.indisprimary), '{}'),
               (select json_agg(json_build_array(a.attname, format_type(a.atttypid, a.atttypmod)) order by a.attnum)
                from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped)
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and not c.relispartition
          and (n.nspname = any(%s)
               or (n.nspname, c.relname) in (select * from unnest(%s::text[], %s::text[])))
        order by 1
        """,
        (schemas, [t.schema for t in extra], [t.name for t in extra]),
    ).fetchall()
    return {name: (list(key), {c: t for c, t in cols or []}) for name, key, cols in rows}


def key_codec(key: list[str], columns: dict[str, str], server_version: int, *, sample: int | None = None) -> KeyCodec:
    if not key:
        return KeyCodec((), None, (), sample)
    hash_function = KEY_HASH_FUNCTIONS.get(columns[key[0]]) if len(key) == 1 else None
    parts = []
    for column in key:
        type_ = columns[column]
        if type_ in INTEGER_TYPES:
            parts.append("int")
        elif type_ == "uuid" and server_version >= UUID_PARTS_SINCE:
            parts.append("uuid")
        else:
            parts.append("")
    return KeyCodec(tuple(key), hash_function, tuple(parts), sample)


def bucket_bits_for(rows_estimate: int) -> int:
    """About ROWS_PER_BUCKET rows per bucket, so most differing buckets hold a single difference."""
    if rows_estimate <= ROWS_PER_BUCKET << MIN_BUCKET_BITS:
        return MIN_BUCKET_BITS
    return max(MIN_BUCKET_BITS, min(MAX_BUCKET_BITS, math.ceil(math.log2(rows_estimate / ROWS_PER_BUCKET))))


def hashed_rows(
    table: str,
    columns: dict[str, str],
    codec: KeyCodec,
    *,
    with_row: bool = True,
    with_key_text: bool = False,
    bucket_bits: int | None = None,
) -> sql.Composed:
    """`select k, r, parts... from table offset 0`: each row's hashes computed once (offset 0 keeps the
    planner from inlining the subquery and computing the row hash once per aggregate); uuid key parts
    are split from their bytes in a projection above that scan.

    With `bucket_bits`, only rows whose bucket is in the array parameter `%s`: the filter runs in the
    scan, so the row hash is computed for those rows only. A sampled codec keeps its sample's rows only
    (the same filter, in the scan: every row is still read, only the sample is hashed in full).
    """
    relation = qualify(table).ident
    row_hash = row_hash_sql(columns)
    if not codec.columns:
        key_hash: sql.Composable = row_hash
    elif codec.hash_function:
        key_hash = sql.SQL("{}({}, 0)").format(sql.Identifier(codec.hash_function), sql.Identifier(codec.columns[0]))
    else:
        key_row = sql.SQL(", ").join(sql.Identifier(c) for c in codec.columns)
        key_hash = sql.SQL("hashtextextended(row({})::text, 0)").format(key_row)
    items: list[sql.Composable] = [sql.SQL("{} as k").format(key_hash)]
    items.append(sql.SQL("{} as r").format(row_hash) if with_row else sql.SQL("0::bigint as r"))
    parts, scanned = _part_expressions(codec)
    items += scanned
    if with_key_text:
        texts = [sql.SQL("{}::text").format(sql.Identifier(c)) for c in codec.columns]
        items.append(
            sql.SQL("array[{}] as key_text").format(sql.SQL(", ").join(texts))
            if texts
            else sql.SQL("null::text[] as key_text")
        )
    filters: list[sql.Composable] = []
    if codec.sample is not None:
        filters.append(sql.SQL("(({} >> 32) & 4294967295) < {}").format(key_hash, sql.Literal(codec.sample)))
    if bucket_bits is not None:
        filters.append(sql.SQL("({} & {}) = any(%s)").format(key_hash, sql.Literal((1 << bucket_bits) - 1)))
    where: sql.Composable = sql.SQL("")
    if filters:
        where = sql.SQL(" where {}").format(sql.SQL(" and ").join(filters))
    scan = sql.SQL("select {} from {}{} offset 0").format(sql.SQL(", ").join(items), relation, where)
    if not parts:
        return scan
    outer = [sql.SQL("k"), sql.SQL("r"), *parts]
    if with_key_text:
        outer.append(sql.SQL("key_text"))
    return sql.SQL("select {} from ({}) s").format(sql.SQL(", ").join(outer), scan)


def row_hash_sql(columns: dict[str, str]) -> sql.Composed:
    """`hash_record_extended(row(...), 0)` over `columns` (name -> type, in order)."""
    fields = [_row_field(name, type_) for name, type_ in columns.items()]
    return sql.SQL("hash_record_extended(row({}), 0)").format(sql.SQL(", ").join(fields))


def _row_field(name: str, type_: str) -> sql.Composable:
    # `character varying(50)[]` -> `character varying`; multi-dimensional declarations stay text.
    base = _TYPMOD.sub("", type_.removesuffix("[]")) if type_.count("[]") <= 1 else ""
    ident = sql.Identifier(name)
    if base in _COLLATABLE:
        return sql.SQL('{} collate "C"').format(ident)
    if base in NATIVE_HASH_TYPES:
        return ident
    return sql.SQL("{}::text").format(ident)


def _part_expressions(codec: KeyCodec) -> tuple[list[sql.Composable], list[sql.Composable]]:
    """What `hashed_rows`'s scan adds for the key parts, and the projection above it to columns `p0, p1...`:
    a uuid's bytes are sent once per row in the scan and split there, not sent once per half (an integer
    part passes through)."""
    if not codec.recoverable:
        return [], []
    parts: list[sql.Composable] = []
    scanned: list[sql.Composable] = []
    for i, (column, part) in enumerate(zip(codec.columns, codec.parts, strict=True)):
        ident, sent = sql.Identifier(column), sql.Identifier(f"b{i}")
        if part == "int":
            scanned.append(sql.SQL("{}::bigint as {}").format(ident, sent))
            parts.append(sql.SQL("{} as {}").format(sent, sql.Identifier(f"p{len(parts)}")))
        else:
            scanned.append(sql.SQL("uuid_send({}) as {}").format(ident, sent))
            for start in (1, 9):
                parts.append(
                    sql.SQL("substr({}, {}, 8)::bigint as {}").format(
                        sent, sql.Literal(start), sql.Identifier(f"p{len(parts)}")
                    )
                )
    return parts, scanned


def fingerprint_table(
    conn: psycopg.Connection[Any],
    table: str,
    key: list[str],
    columns: dict[str, str],
    *,
    bucket_bits: int | None = None,
    codec: KeyCodec | None = None,
    with_row: bool = True,
    server_version: int | None = None,
    parallel_workers: int | None = None,
    sample: int | None = None,
) -> TableFingerprint:
    """One scan of `table` in a transaction of its own (never longer than that scan): per bucket the
    count and the sums described in the module docstring. `parallel_workers` caps the server's parallel
    workers for the statement (`max_parallel_workers_per_gather`); None keeps the server's setting.
    `sample` (a `sample_threshold`, used when no `codec` is given) fingerprints a key-hash sample only."""
    if server_version is None:
        server_version = read_server_version(conn)
    if codec is None:
        codec = key_codec(key, columns, server_version, sample=sample)
    if bucket_bits is None:
        share = 1.0 if codec.fraction is None else codec.fraction
        bucket_bits = bucket_bits_for(round(rows_estimate(conn, table) * share))
    parts = codec.part_count() if codec.recoverable else 0
    ops = bucket_ops(codec)
    inputs = ["k", "r", "k # r", *(f"p{i}" for i in range(parts))]
    names = [sql.Identifier(f"s{i}") for i in range(len(ops))]
    aggs = [sql.SQL(_AGGREGATE[op]).format(sql.SQL(x)) for op, x in zip(ops, inputs, strict=True)]
    query = sql.SQL(
        "select bucket, n, {wrapped} from ("
        "select (k & {mask})::int as bucket, count(*) as n, {sums} from ({rows}) h group by 1) g order by 1"
    ).format(
        wrapped=sql.SQL(", ").join(sql.SQL(_FOLD[op]).format(n) for op, n in zip(ops, names, strict=True)),
        mask=sql.Literal((1 << bucket_bits) - 1),
        sums=sql.SQL(", ").join(sql.SQL("{} as {}").format(e, n) for e, n in zip(aggs, names, strict=True)),
        rows=hashed_rows(table, columns, codec, with_row=with_row),
    )
    own = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    with conn.transaction():
        if own:  # inside a caller's transaction this is a savepoint: its read/write mode stays the caller's
            conn.execute("set transaction read only")
        allow_parallel_scan(conn, parallel_workers)
        with conn.cursor(binary=True) as cur:
            result = BucketSums.from_rows(4 + parts, cur.execute(query).fetchall())
    return TableFingerprint(
        table=table, key=list(codec.columns), columns=dict(columns), rows=result.rows(),
        buckets=result, bucket_bits=bucket_bits, key_hash=codec.hash_function, key_parts=list(codec.parts),
        sample=codec.sample,
    )  # fmt: skip


# A numeric sum folded into a signed 64-bit integer (mod 2^64), once per bucket; an xor is one already.
_WRAP = "({0} - 18446744073709551616 * floor(({0} + 9223372036854775808) / 18446744073709551616))::bigint"
_AGGREGATE = {"xor": "bit_xor({})", "sum": "sum({})"}
_FOLD = {"xor": "{}", "sum": _WRAP}


def take_snapshot(conn: psycopg.Connection[Any], schemas: list[str], *, tables: Iterable[str] = ()) -> Snapshot:
    """Every table, one after another on `conn` (small databases, rehearsal copies); `baseline.capture`
    plans and parallelises the same work."""
    version = read_server_version(conn)
    fingerprints = {
        name: fingerprint_table(conn, name, key, columns, server_version=version)
        for name, (key, columns) in discover_tables(conn, schemas, tables).items()
    }
    return Snapshot(tables=fingerprints, server_version=version)


def allow_parallel_scan(conn: psycopg.Connection[Any], workers: int | None = None) -> None:
    # The planner cannot know the aggregate has few groups, so it would not parallelise the scan:
    # make handing hashed rows to the leader free, which lets the server's parallel workers hash.
    conn.execute("set local parallel_setup_cost = 0")
    conn.execute("set local parallel_tuple_cost = 0")
    if workers is not None:
        conn.execute("select set_config('max_parallel_workers_per_gather', %s, true)", (str(max(0, workers)),))


def read_server_version(conn: psycopg.Connection[Any]) -> int:
    return int(conn.execute("select current_setting('server_version_num')").fetchone()[0])  # type: ignore[index]


def rows_estimate(conn: psycopg.Connection[Any], table: str) -> int:
    name: QualifiedName = qualify(table)
    # reltuples is -1 before the first vacuum/analyze: fall back to the statistics collector's live rows.
    row = conn.execute(
        "select greatest(c.reltuples::bigint, coalesce(s.n_live_tup, 0), 0) from pg_class c "
        "join pg_namespace n on n.oid = c.relnamespace left join pg_stat_user_tables s on s.relid = c.oid "
        "where n.nspname = %s and c.relname = %s",
        (name.schema, name.name),
    ).fetchone()
    return int(row[0]) if row else 0
