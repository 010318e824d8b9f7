"""Name the rows behind a differing bucket from the baseline's aggregates and the bucket's current rows.

After the migration only the rows of differing buckets are fetched (key, k, r, key parts), a few
hundred per bucket. With `d` = the difference of current and baseline aggregates (`difference`: an xor
for the xor-ed ones, current - baseline modulo 2^64 for the sums), a bucket with one difference solves:

- one row added: the current row whose (k, r) equals (d.k, d.r);
- one row lost: its key hash is d.k (-d.k for a keyless table's sums); for integer/uuid keys its key
  is d.parts (checked by hashing the recovered key in SQL); otherwise only the key hash is known;
- one row changed (same keys, d.count == 0, d.k == 0): the row c whose old row hash `c.r ^ d.r`
  explains d.mix = the change of sum(k # r), i.e. (c.k ^ c.r) - (c.k ^ (c.r ^ d.r)) == d.mix.

A bucket with several differences is reported as such (rare with ~256 rows per bucket when few rows
differ).

Narrowing is bounded: when the differing buckets hold more rows than `MAX_NARROWED_ROWS`, only an
evenly spread sample of them is fetched (`narrow_sample`), and the report counts the rest from the aggregates.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from rollout_gate.integrity.fingerprint import KeyCodec, aggregate, bucket_ops, difference, hashed_rows, wrap64

# Upper bounds on what is fetched to narrow one table down: buckets, and the rows in them.
MAX_NARROWED_BUCKETS = 64
MAX_NARROWED_ROWS = 20_000


@dataclass(frozen=True)
class RowDiff:
    kind: str  # lost | added | changed
    key: str  # "id=..." or "key hash 0x..." when the key cannot be recovered
    exact: bool = True

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True)
class CurrentRow:
    k: int
    r: int
    parts: tuple[int, ...]
    key_text: tuple[str, ...] | None


@dataclass
class BucketSolution:
    rows: list[RowDiff]
    solved: bool


def narrow_sample(
    buckets: list[int],
    rows_in: dict[int, int],
    *,
    max_buckets: int = MAX_NARROWED_BUCKETS,
    max_rows: int = MAX_NARROWED_ROWS,
) -> list[int]:
    """The differing buckets to fetch: all of them when they fit, else an evenly spread sample whose rows
    (`rows_in`: the larger of a bucket's baseline and current count) stay within `max_rows`."""
    if len(buckets) <= max_buckets and sum(rows_in[b] for b in buckets) <= max_rows:
        return list(buckets)
    step = max(1, len(buckets) // max_buckets)
    picked: list[int] = []
    total = 0
    for bucket in buckets[::step]:
        if len(picked) == max_buckets:
            break
        if total + rows_in[bucket] > max_rows:
            continue
        picked.append(bucket)
        total += rows_in[bucket]
    return picked


def fetch_bucket_rows(
    conn: psycopg.Connection[Any],
    table: str,
    columns: dict[str, str],
    codec: KeyCodec,
    bits: int,
    buckets: list[int],
    *,
    with_row: bool = True,
) -> dict[int, list[CurrentRow]]:
    """Current rows of `buckets` (a bounded second scan, only when something differs)."""
    parts = codec.part_count() if codec.recoverable else 0
    query = sql.SQL("select (k & {mask})::int, k, r, {parts} key_text from ({rows}) h").format(
        mask=sql.Literal((1 << bits) - 1),
        parts=sql.SQL("").join(sql.SQL("p{}, ").format(sql.SQL(str(i))) for i in range(parts)),
        rows=hashed_rows(table, columns, codec, with_row=with_row, with_key_text=True, bucket_bits=bits),
    )
    out: dict[int, list[CurrentRow]] = {b: [] for b in buckets}
    for bucket, k, r, *rest in conn.execute(query, (buckets,)).fetchall():
        key_text = rest[-1]
        out[bucket].append(
            CurrentRow(int(k), int(r), tuple(int(p) for p in rest[:-1]), tuple(key_text) if key_text else None)
        )
    return out


def solve_bucket(
    conn: psycopg.Connection[Any],
    codec: KeyCodec,
    before: list[int] | None,
    rows: list[CurrentRow],
    *,
    with_row: bool = True,
) -> BucketSolution:
    """The differing rows of one bucket, if a single difference explains the aggregates."""
    ops = bucket_ops(codec)
    now = _aggregates(rows, codec)
    base = before if before is not None else [0] * len(now)
    count = now[0] - base[0]
    d = [difference(op, a, b) for op, a, b in zip(ops, now[1:], base[1:], strict=True)]
    dk, dr, dmix, dparts = d[0], d[1], d[2], d[3:]
    if count == 1:
        for row in rows:
            if row.k == dk and (not with_row or row.r == dr):
                return BucketSolution([RowDiff("added", _describe(codec, row.key_text, row.k))], True)
    elif count == -1:
        # The lost row's values are what the difference took away: `difference(op, 0, d)`.
        lost = [difference(op, 0, v) for op, v in zip(ops[3:], dparts, strict=True)]
        return BucketSolution([_lost(conn, codec, difference(ops[0], 0, dk), lost)], True)
    elif count == 0 and dk == 0 and with_row and dr != 0:
        changed = []
        for row in rows:
            old = difference(ops[1], row.r, dr)
            if wrap64((row.k ^ row.r) - (row.k ^ old)) == dmix:
                changed.append(row)
        if len(changed) == 1:
            row = changed[0]
            return BucketSolution([RowDiff("changed", _describe(codec, row.key_text, row.k))], True)
    return BucketSolution([], False)


def _aggregates(rows: list[CurrentRow], codec: KeyCodec) -> list[int]:
    """The bucket's [count, *aggregates] as the fingerprint query computes them (`bucket_ops`)."""
    ops = bucket_ops(codec)
    columns = [[r.k for r in rows], [r.r for r in rows], [r.k ^ r.r for r in rows]]
    columns += [[r.parts[i] for r in rows] for i in range(len(ops) - 3)]
    return [len(rows), *(aggregate(op, values) for op, values in zip(ops, columns, strict=True))]


def _lost(conn: psycopg.Connection[Any], codec: KeyCodec, key_hash: int, parts: list[int]) -> RowDiff:
    if codec.recoverable and parts:
        values = _decode(codec, parts)
        if values is not None and _key_hash_of(conn, codec, values) == key_hash:
            return RowDiff("lost", _describe(codec, tuple(values), key_hash))
    return RowDiff("lost", _hash_only(codec, key_hash), exact=False)


def _decode(codec: KeyCodec, parts: list[int]) -> list[str] | None:
    values = []
    it = iter(parts)
    try:
        for part in codec.parts:
            if part == "int":
                values.append(str(next(it)))
            else:
                high, low = next(it), next(it)
                raw = high.to_bytes(8, "big", signed=True) + low.to_bytes(8, "big", signed=True)
                values.append(str(uuid.UUID(bytes=raw)))
    except (OverflowError, StopIteration):
        return None  # not a single lost row after all
    return values


def _key_hash_of(conn: psycopg.Connection[Any], codec: KeyCodec, values: list[str]) -> int | None:
    """The key hash the fingerprint query gives a row with this key (to confirm a recovered key)."""
    types = ["bigint" if p == "int" else "uuid" for p in codec.parts]
    literals = [sql.SQL("{}::{}").format(sql.Literal(v), sql.SQL(t)) for v, t in zip(values, types, strict=True)]
    if codec.hash_function:
        # The key column's own type (an int key may be integer or smallint): cast through the function's argument.
        expr = sql.SQL("{}({}, 0)").format(sql.Identifier(codec.hash_function), literals[0])
        if codec.hash_function != "hashint8extended" and types[0] == "bigint":
            arg = {"hashint4extended": "integer", "hashint2extended": "smallint"}[codec.hash_function]
            expr = sql.SQL("{}({}::{}, 0)").format(sql.Identifier(codec.hash_function), literals[0], sql.SQL(arg))
    else:
        expr = sql.SQL("hashtextextended(row({})::text, 0)").format(sql.SQL(", ").join(literals))
    try:
        with conn.transaction():
            row = conn.execute(sql.SQL("select {}").format(expr)).fetchone()
    except psycopg.Error:
        return None
    return int(row[0]) if row else None


def _describe(codec: KeyCodec, key_text: tuple[str, ...] | None, key_hash: int) -> str:
    if not codec.columns or key_text is None:
        return _hash_only(codec, key_hash)
    return ", ".join(f"{c}={v}" for c, v in zip(codec.columns, key_text, strict=True))


def _hash_only(codec: KeyCodec, key_hash: int) -> str:
    what = "row hash" if not codec.columns else "key hash"
    return f"{what} {key_hash & 0xFFFFFFFFFFFFFFFF:#018x}"
