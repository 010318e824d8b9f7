"""Fingerprints and their comparison, on real tables in an embedded PostgreSQL: what differs is named exactly."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from rollout_gate.integrity.compare import compare
from rollout_gate.integrity.fingerprint import (
    SCHEMA_VERSION,
    BaselineError,
    Snapshot,
    bucket_bits_for,
    row_hash_sql,
    take_snapshot,
)
from tests.embedded import EmbeddedServer

SCHEMA = """
create schema fp;
create table fp.by_uuid as select md5('u' || g)::uuid as id, g as n, 'name ' || g as name, null::text as note
    from generate_series(1, 5000) g;
alter table fp.by_uuid add primary key (id);
create table fp.by_int as select g::bigint as id, g % 7 as kind, now()::date as day from generate_series(1, 3000) g;
alter table fp.by_int add primary key (id);
create table fp.by_text as select 'k' || g as id, g as v from generate_series(1, 2000) g;
alter table fp.by_text add primary key (id);
create table fp.composite as select g % 50 as a, md5('c' || g)::uuid as b, g as v from generate_series(1, 2000) g;
alter table fp.composite add primary key (a, b);
create table fp.no_key as select g % 100 as v, 'x' as w from generate_series(1, 1000) g;
analyze;
"""


@pytest.fixture(scope="module")
def dsn(embedded_server: EmbeddedServer) -> Iterator[str]:
    """A database for the tables of every key shape, in a scope of the process's embedded server."""
    with embedded_server.scope() as scope:
        yield scope.database(name="fp_test")


@pytest.fixture
def conn(dsn: str) -> Iterator[psycopg.Connection]:
    """A fresh copy of the schema for each test (dropped afterwards)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("drop schema if exists fp cascade")
        conn.execute(SCHEMA)
        yield conn


def diff_text(conn: psycopg.Connection, before: Snapshot, table: str) -> str:
    found = {d.table: d for d in compare(before, conn, ["fp"])}
    assert table in found, f"{table} not reported: {sorted(found)}"
    return str(found[table])


def test_unchanged_tables_compare_equal_and_added_columns_are_ignored(conn: psycopg.Connection) -> None:
    before = take_snapshot(conn, ["fp"])
    assert {name: fp.rows for name, fp in before.tables.items()} == {
        "fp.by_uuid": 5000, "fp.by_int": 3000, "fp.by_text": 2000, "fp.composite": 2000, "fp.no_key": 1000,
    }  # fmt: skip
    conn.execute("alter table fp.by_uuid add column organization_id uuid default gen_random_uuid()")
    conn.execute("alter table fp.by_int add column extra text")
    assert compare(before, conn, ["fp"]) == []


def test_lost_added_and_changed_rows_are_named_by_primary_key(conn: psycopg.Connection) -> None:
    before = take_snapshot(conn, ["fp"])
    lost = [str(r[0]) for r in conn.execute("delete from fp.by_uuid where n in (10, 2000) returning id").fetchall()]
    changed = conn.execute("update fp.by_uuid set note = 'touched' where n = 77 returning id").fetchone()
    added = conn.execute("insert into fp.by_uuid values (gen_random_uuid(), -1, 'new', null) returning id").fetchone()
    conn.execute("delete from fp.by_int where id = 42")
    conn.execute("update fp.by_int set kind = -1 where id = 7")
    uuid_diff = diff_text(conn, before, "fp.by_uuid")
    assert "5000 rows before, 4999 after (-1)" in uuid_diff
    assert re.search(r"lost 2: id=(\S+), id=(\S+);", uuid_diff)
    assert all(f"id={key}" in uuid_diff for key in lost)
    assert changed is not None and f"changed 1: id={changed[0]}" in uuid_diff
    assert added is not None and f"added 1: id={added[0]}" in uuid_diff
    assert "key hash" not in uuid_diff
    int_diff = diff_text(conn, before, "fp.by_int")
    assert "lost 1: id=42" in int_diff and "changed 1: id=7" in int_diff


def test_composite_integer_and_uuid_keys_are_recovered(conn: psycopg.Connection) -> None:
    before = take_snapshot(conn, ["fp"])
    a, b = conn.execute("delete from fp.composite where v = 123 returning a, b").fetchone() or (None, None)
    assert f"lost 1: a={a}, b={b}" in diff_text(conn, before, "fp.composite")


def test_a_lost_text_key_is_named_by_its_hash_and_the_message_says_why(conn: psycopg.Connection) -> None:
    before = take_snapshot(conn, ["fp"])
    conn.execute("delete from fp.by_text where id = 'k5'")
    conn.execute("update fp.by_text set v = 0 where id = 'k9'")
    text = diff_text(conn, before, "fp.by_text")
    assert re.search(r"lost 1: key hash 0x[0-9a-f]{16}", text)
    assert "changed 1: id=k9" in text  # the current row is there to name
    assert "only integer keys (and uuid keys on PostgreSQL 18+) can be recovered" in text


def test_a_table_without_primary_key_names_rows_by_content_hash(conn: psycopg.Connection) -> None:
    before = take_snapshot(conn, ["fp"])
    conn.execute("delete from fp.no_key where ctid = (select min(ctid) from fp.no_key)")
    text = diff_text(conn, before, "fp.no_key")
    assert "1000 rows before, 999 after (-1)" in text
    assert "no primary key: rows are named by the hash of their contents" in text


def test_a_keyless_table_trading_copies_of_duplicate_rows_is_not_equal(conn: psycopg.Connection) -> None:
    # Each (v, 'x') is there 10 times, and a keyless table is bucketed by its row hash. Two copies lost of one
    # row and two more made of another in the same bucket: the bucket's count is unchanged, and an xor of the
    # row hashes would cancel both pairs. That is why keyless tables keep sums.
    before = take_snapshot(conn, ["fp"])
    mask = (1 << before.tables["fp.no_key"].bucket_bits) - 1
    pair = conn.execute(
        sql.SQL(
            "select min(v), max(v) from (select distinct v, {h} & %s as b from fp.no_key) t group by b"
            " having count(*) > 1 limit 1"
        ).format(h=row_hash_sql({"v": "integer", "w": "text"})),
        (mask,),
    ).fetchone()
    assert pair is not None, "no two of the 100 distinct rows share one of the 256 buckets"
    conn.execute("delete from fp.no_key where ctid in (select ctid from fp.no_key where v = %s limit 2)", (pair[0],))
    conn.execute("insert into fp.no_key values (%s, 'x'), (%s, 'x')", (pair[1], pair[1]))
    text = diff_text(conn, before, "fp.no_key")
    assert "same row count (1000) but rows differ in 1 bucket(s)" in text


def test_dropped_and_retyped_columns_are_reported_and_rows_still_compared_by_key(conn: psycopg.Connection) -> None:
    before = take_snapshot(conn, ["fp"])
    conn.execute("alter table fp.by_uuid drop column note")
    conn.execute("delete from fp.by_uuid where n = 5")
    conn.execute("alter table fp.by_int alter column kind type bigint")
    uuid_diff = diff_text(conn, before, "fp.by_uuid")
    assert "columns dropped: note" in uuid_diff
    assert "lost 1: id=" in uuid_diff  # still narrowed down by key
    assert "columns retyped: kind integer -> bigint" in diff_text(conn, before, "fp.by_int")


def test_several_differences_in_one_bucket_are_counted_never_guessed(conn: psycopg.Connection) -> None:
    before = take_snapshot(conn, ["fp"])
    changed = {
        f"id={r[0]}" for r in conn.execute("update fp.by_uuid set note = 'x' where n % 4 = 0 returning id").fetchall()
    }
    found = next(d for d in compare(before, conn, ["fp"]) if d.table == "fp.by_uuid")
    named = {str(r) for r in found.rows}
    assert named <= changed  # whatever is named is right
    assert found.unexplained_buckets > 0  # 1250 changes in 256 buckets: most hold several
    assert "bucket(s) hold several differences and were not narrowed down" in str(found)


def test_snapshot_survives_a_round_trip_and_refuses_another_format(conn: psycopg.Connection, tmp_path: Path) -> None:
    before = take_snapshot(conn, ["fp"])
    path = tmp_path / "baseline.json"
    before.save(path)
    assert Snapshot.load(path) == before
    path.write_text(path.read_text().replace(f'"schema_version": {SCHEMA_VERSION}', '"schema_version": 1'))
    with pytest.raises(BaselineError, match="format version 1"):
        Snapshot.load(path)


def test_bucket_count_grows_with_the_table_within_bounds() -> None:
    assert bucket_bits_for(0) == 8
    assert bucket_bits_for(100_000) == 9
    assert bucket_bits_for(5_000_000) == 15
    assert bucket_bits_for(50_000_000) == 18  # ~190 rows per bucket
    assert bucket_bits_for(10**10) == 22


TYPED = """
create type fp.mood as enum ('calm', 'busy');
create domain fp.short_text as text check (length(value) < 100);
create table fp.typed (
    id bigint primary key, t text, vc varchar(20), tags text[], ts timestamptz, tsn timestamp, d date,
    n numeric(10, 2), f double precision, b boolean, j jsonb, js json, iv interval, m fp.mood,
    s fp.short_text, raw bytea, ip inet, nums integer[]
);
insert into fp.typed
select g, 'Alice ' || g, 'v' || g, array['a' || g, 'b'], timestamptz '2024-03-01 12:00:00+00' + g * interval '1 hour',
       timestamp '2024-03-01 12:00' + g * interval '1 minute', date '2024-01-01' + g, g * 1.25, g / 3.0, g % 2 = 0,
       jsonb_build_object('k', g), json_build_object('k', g), g * interval '1 day', 'calm', 's' || g,
       decode(md5(g::text), 'hex'), '10.0.0.1', array[g, g + 1]
from generate_series(1, 200) g;
"""

# One change per column type, each on its own row; the row hash must see every one of them.
TYPED_CHANGES = {
    "t": "t = 'alice 1'",  # case only: hashed under COLLATE "C", never a case-insensitive comparison
    "vc": "vc = 'w2'",
    "tags": "tags = array['a3', 'c']",
    "ts": "ts = ts + interval '1 microsecond'",
    "tsn": "tsn = tsn + interval '1 second'",
    "d": "d = d + 1",
    "n": "n = n + 0.01",
    "f": "f = f * 2",
    "b": "b = not b",
    "j": """j = '{"k": "x"}'""",
    "js": """js = '{"k":11}'""",  # same value, other text: json is hashed by its text, as stored
    "iv": "iv = iv + interval '1 second'",
    "m": "m = 'busy'",
    "s": "s = 'changed'",
    "raw": "raw = decode('00', 'hex')",
    "ip": "ip = '10.0.0.2'",
    "nums": "nums = array[0]",
}


def test_every_column_type_is_in_the_row_hash_and_the_session_time_zone_is_not(conn: psycopg.Connection) -> None:
    conn.execute(TYPED)
    conn.execute("set timezone = 'UTC'")
    before = take_snapshot(conn, ["fp"], tables=["fp.typed"])
    # The text of a timestamptz follows the session's TimeZone: the old whole-row text hash called every row
    # of this table changed when the compare ran under another one (a false alarm).
    conn.execute("set timezone = 'Asia/Tokyo'")
    conn.execute("set datestyle = 'SQL, DMY'")
    assert [d for d in compare(before, conn, ["fp"]) if d.table == "fp.typed"] == []
    for i, change in enumerate(TYPED_CHANGES.values(), start=1):
        conn.execute(f"update fp.typed set {change} where id = {i}")  # type: ignore[arg-type]
    found = diff_text(conn, before, "fp.typed")
    assert f"rows differ in {len(TYPED_CHANGES)} bucket(s); changed {len(TYPED_CHANGES)}: id=1, id=2" in found, found
    found_keys = {d.key for d in compare(before, conn, ["fp"], report_keys=len(TYPED_CHANGES))[0].rows}
    assert found_keys == {f"id={i}" for i in range(1, len(TYPED_CHANGES) + 1)}, found_keys
