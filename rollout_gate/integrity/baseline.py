"""The pre-deploy baseline: a fingerprint snapshot stored as a file so CI can carry it between jobs.

In the same file (one artifact for CI to carry): the schema snapshot (key `schema`, compared after a
rollback), for the users whose data the post-rollback smoke reads back through the old version how many
rows each owns per table (key `users`), and the plan the scans followed (key `plan`).

No snapshot is held across tables on the primary: the plan (`plan.py`) is printed and checked against
`integrity.budget` first, then every table is fingerprinted in a short transaction of its own, on a pool
of connections (`pool.py`). Consistency across tables comes from the rollout itself (maintenance mode,
or the migration's own lock order), and the snapshot says so (`Snapshot.consistency`); or the baseline
is read on `integrity.source`, a replica or restored snapshot, the default for large tables.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from rollout_gate import db
from rollout_gate.catalog.discover import user_table_from
from rollout_gate.catalog.names import qualify
from rollout_gate.catalog.read import rls_restriction
from rollout_gate.config.errors import ConfigError
from rollout_gate.config.models import DatabaseTimeouts, Environment, TenancyConfig
from rollout_gate.integrity.config import IntegrityBudget, IntegritySampling
from rollout_gate.integrity.fingerprint import (
    BaselineError,
    Snapshot,
    bucket_bits_for,
    discover_tables,
    fingerprint_table,
    read_server_version,
    sample_threshold,
)
from rollout_gate.integrity.plan import PlanRefused, plan_scan
from rollout_gate.integrity.pool import run_tables
from rollout_gate.integrity.sampling import SampleMismatch, confidence_line
from rollout_gate.integrity.schema_snapshot import read_baseline_section, take_schema_snapshot

USER_COUNTS_VERSION = 1


PRIMARY_CONSISTENCY = (
    "each table read in a transaction of its own (no snapshot held across tables on the primary): "
    "consistency across tables comes from the rollout itself (maintenance mode, or the migration's own lock order)"
)


def capture(
    dsn: str,
    schemas: list[str],
    path: Path,
    *,
    tables: Iterable[str] = (),
    users: Sequence[str] = (),
    user_table: str | None = None,
    user_key: str | None = None,
    tenancy: TenancyConfig | None = None,
    owner_column: str = "user_id",
    timeouts: DatabaseTimeouts = db.DEFAULT_TIMEOUTS,
    connect_timeout: float = 10.0,
    budget: IntegrityBudget | None = None,
    source: str | None = None,
    sampling: IntegritySampling | None = None,
    report: Callable[[str], None] | None = print,
) -> Snapshot:
    """Fingerprint every table of `schemas` (and `tables` elsewhere) and save the snapshot at `path`, with the
    schema snapshot of `schemas` and the rows each of `users` (emails) owns per table, by `owner_column`, in it.
    A user table not given is discovered from the catalog (`tenancy`'s, else the schemas').

    `source` names where `dsn` points when it is not the primary (`integrity.source`: a replica or restored
    snapshot), for the report. The plan goes to `report` before any table is read; a plan over `budget`
    raises `PlanRefused` (one line naming the tables). Tables `sampling` names are fingerprinted on their
    key-hash sample only (`sampling.py`), and the report says what each sample proves."""
    budget = budget or IntegrityBudget()
    sampling = sampling or IntegritySampling()
    with db.connect(dsn, timeouts=timeouts, connect_timeout=connect_timeout) as conn:
        problem = rls_restriction(conn)
        if problem:
            raise BaselineError(problem)
        if (user_table is None or user_key is None) and (users or tenancy is not None):
            try:
                user_table, user_key = user_table_from(conn, tenancy or TenancyConfig(schemas=tuple(schemas)))
            except ConfigError:
                if users:  # their rows cannot be counted without it
                    raise
            else:
                tables = list(dict.fromkeys([*tables, user_table]))
        found = discover_tables(conn, schemas, tables)
        unknown = sorted(set(sampling.tables) - set(found))
        if unknown:
            raise SampleMismatch(
                f"integrity.sampling.tables names {', '.join(unknown)}: not a table the baseline covers "
                f"(tenancy.schemas {', '.join(schemas) or '-'})"
            )
        version = read_server_version(conn)
        plan = plan_scan(
            conn, "baseline", list(found), budget, scan_s=timeouts.scan_statement_s, sampling=sampling.tables
        )
        consistency = _consistency(conn, source)
    if report is not None:
        report(plan.describe())
    refusal = plan.refusal()
    if refusal:
        raise PlanRefused(refusal)
    rows = {t.name: t.rows for t in plan.tables}

    def fingerprint(c: psycopg.Connection[Any], name: str) -> Any:
        key, columns = found[name]
        fraction = sampling.fraction(name)
        sampled_rows = round(rows.get(name, 0) * (1.0 if fraction is None else fraction))
        return fingerprint_table(
            c, name, key, columns, server_version=version, bucket_bits=bucket_bits_for(sampled_rows),
            parallel_workers=plan.parallel_per_statement,
            sample=None if fraction is None else sample_threshold(fraction),
        )  # fmt: skip

    order = [t.name for t in plan.tables] + sorted(set(found) - set(rows))
    done = run_tables(
        dsn, order, fingerprint, connections=plan.connections, timeouts=timeouts, connect_timeout=connect_timeout,
        deadline_s=budget.time_s,
    )  # fmt: skip
    with db.connect(dsn, timeouts=timeouts, connect_timeout=connect_timeout) as conn:
        with conn.transaction():
            conn.execute("set transaction read only")
            schema = take_schema_snapshot(conn, schemas)
        with conn.transaction():
            conn.execute("set transaction read only")
            counts = (
                owner_counts(conn, schemas, users, user_table=user_table, owner_column=owner_column, user_key=user_key)
                if user_table and user_key
                else {}
            )
    snapshot = Snapshot(tables=done.results, server_version=version, consistency=consistency)
    took = f"{plan.what} took {done.wall_s:.1f}s (planned ~{plan.estimated_s:.1f}s)"
    if report is not None:
        report(f"{took}; {consistency}")
        for name, fp in sorted(done.results.items()):
            if fp.sample is not None:
                report(confidence_line(name, fp.sample, fp.rows))
    save_atomically(
        snapshot, path,
        {
            "schema": schema.to_payload(), "users": UserCounts(owner_column, counts).to_payload(),
            "plan": {"text": plan.describe(), "seconds": done.seconds, "wall_s": done.wall_s},
        },
    )  # fmt: skip
    return snapshot


def _consistency(conn: psycopg.Connection[Any], source: str | None) -> str:
    if source is None:
        return PRIMARY_CONSISTENCY
    row = conn.execute("select pg_is_in_recovery()").fetchone()
    recovering = bool(row and row[0])
    paused = False
    if recovering:
        paused_row = conn.execute("select pg_is_wal_replay_paused()").fetchone()
        paused = bool(paused_row and paused_row[0])
    state = (
        "a replica with replay paused: one consistent state"
        if paused
        else "a replica still replaying: pause replay (pg_wal_replay_pause()) for one consistent state"
        if recovering
        else "not in recovery: a restored snapshot or copy, consistent when nothing writes to it"
    )
    return f"baseline read on integrity.source ({source}; {state}), not on the primary"


def source_label(dsn: str) -> str:
    """host:port/dbname of a DSN, never its password."""
    params = conninfo_to_dict(dsn)
    return f"{params.get('host', 'localhost')}:{params.get('port', 5432)}/{params.get('dbname', '')}"


def scope(env: Environment) -> tuple[list[str], list[str]]:
    """What an environment's baseline covers: its schemas, plus the user table wherever it lives."""
    return list(env.tenancy.schemas), [env.tenancy.user_table] if env.tenancy.user_table else []


def capture_for(
    env: Environment,
    dsn: str,
    path: Path,
    *,
    users: Sequence[str] | None = None,
    report: Callable[[str], None] | None = print,
) -> Snapshot:
    """The environment's baseline, read on `integrity.source` when it is set, else on `dsn`; `users` (emails)
    default to the local seed's pre-migration users."""
    schemas, tables = scope(env)
    if users is None:
        users = _local_users(env)
    target = env.target
    source = env.integrity.source.get_secret_value() if env.integrity.source else None
    return capture(
        source or dsn, schemas, path, tables=tables, users=users,
        user_table=env.tenancy.user_table, user_key=env.tenancy.user_key, tenancy=env.tenancy,
        owner_column=env.rollback.owner_column,
        timeouts=target.timeouts, connect_timeout=target.connect_timeout, budget=env.integrity.budget,
        source=source_label(source) if source else None, sampling=env.integrity.sampling, report=report,
    )  # fmt: skip


def _local_users(env: Environment) -> list[str]:
    if not env.is_local or env.target.auth.users_csv:
        return []
    from rollout_gate.provisioning.existing import existing_users

    return [u.email for u in existing_users(env, Path("."))]


@dataclass
class UserCounts:
    """Rows each pre-migration user owned per table (`owner_column`), keyed by email."""

    owner_column: str
    # email -> {"id": user id, "tables": {table: rows}}
    users: dict[str, dict[str, Any]]

    def rows_of(self, email: str) -> dict[str, int] | None:
        entry = self.users.get(email.lower())
        return None if entry is None else {t: int(n) for t, n in entry["tables"].items()}

    def to_payload(self) -> dict[str, Any]:
        return {"format_version": USER_COUNTS_VERSION, "owner_column": self.owner_column, "users": self.users}

    @classmethod
    def from_baseline(cls, path: Path) -> UserCounts | None:
        """The counts stored in the baseline file at `path`; None when it holds none (an older baseline)."""
        payload = read_baseline_section(path, "users")
        if payload is None:
            return None
        if payload.get("format_version") != USER_COUNTS_VERSION:
            raise BaselineError(f"the user counts in {path} have another format version: take the baseline again")
        return cls(payload["owner_column"], payload["users"])


def owner_counts(
    conn: psycopg.Connection[Any],
    schemas: list[str],
    emails: Sequence[str],
    *,
    user_table: str,
    owner_column: str,
    user_key: str = "id",
) -> dict[str, dict[str, Any]]:
    """Per user (by `email` in `user_table`), the rows of every table of `schemas` whose `owner_column` is theirs."""
    if not emails:
        return {}
    users = sql.SQL("select {key} from {table} where lower(email) = any(%s)").format(
        key=sql.Identifier(user_key), table=qualify(user_table).ident
    )
    lowered = [e.lower() for e in emails]
    found = conn.execute(
        sql.SQL("select lower(email), {key}::text from {table} where lower(email) = any(%s)").format(
            key=sql.Identifier(user_key), table=qualify(user_table).ident
        ),
        (lowered,),
    ).fetchall()
    if not found:
        return {}
    owned = [name for name, (_key, columns) in discover_tables(conn, schemas).items() if owner_column in columns]
    result: dict[str, dict[str, Any]] = {email: {"id": str(uid), "tables": {}} for email, uid in found}
    by_id = {str(uid): email for email, uid in found}
    for table in owned:
        # Compared in the key's own type (not as text), so the owner column's index serves the lookup.
        rows = conn.execute(
            sql.SQL("select {col}::text, count(*) from {table} where {col} = any(array({users})) group by 1").format(
                col=sql.Identifier(owner_column), table=qualify(table).ident, users=users
            ),
            (lowered,),
        ).fetchall()
        counted = dict(rows)
        for uid, email in by_id.items():
            result[email]["tables"][table] = int(counted.get(uid, 0))
    return result


def save_atomically(snapshot: Snapshot, path: Path, sections: dict[str, Any] | None = None) -> None:
    """Readers (other xdist workers) never see a half-written baseline. `sections` are added top-level keys
    (the fingerprint reader ignores them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".baseline-", dir=path.parent)
    os.close(fd)
    snapshot.save(Path(tmp))
    if sections:
        payload = json.loads(Path(tmp).read_text())
        Path(tmp).write_text(json.dumps({**payload, **sections}, indent=0, sort_keys=True))
    os.replace(tmp, path)
