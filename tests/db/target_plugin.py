"""A pytest plugin for rehearsals under test (`-p tests.db.target_plugin`): the local target, plus
another session's lock or a write counter, set by variables.

- RG_TEST_LOCK_TABLE=schema.table: once the migration is applied, another session (not the
  harness's) takes ACCESS EXCLUSIVE on the table and holds it until the run ends.
- RG_TEST_WRITES_FILE=path: the target database's row-change counters (inserts, updates, deletes,
  rolled back or not, of user tables and of the catalogs: a temp table is a write to pg_class) are
  read after the migration and again at the end of the run; the difference goes to the file.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from rollout_gate.catalog.names import qualify
from rollout_gate.integrity.baseline import capture_for
from rollout_gate.local.target import LocalTarget
from rollout_gate.pytest.session import RolloutSession
from rollout_gate.pytest.stash import session_key
from rollout_gate.target import TargetError

# The statistics autovacuum's ANALYZE maintains after the migration's backfill: not the harness's writes.
_COUNTED = """
select coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::int8,
       coalesce(jsonb_object_agg(schemaname || '.' || relname, n_tup_ins + n_tup_upd + n_tup_del)
                filter (where n_tup_ins + n_tup_upd + n_tup_del > 0), '{}')
from pg_stat_all_tables
where relname not in ('pg_statistic', 'pg_statistic_ext_data')
"""


def row_changes(dsn: str) -> tuple[int, dict[str, int]]:
    """Rows inserted, updated or deleted in the database so far (committed or not), per table."""
    time.sleep(1.5)  # backends flush their counters within a second of going idle or closing
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("select pg_stat_clear_snapshot()")
        total, per_table = conn.execute(_COUNTED).fetchone()  # type: ignore[misc]
    return int(total), dict(per_table)


class InstrumentedTarget(LocalTarget):
    holder: psycopg.Connection | None = None
    before: dict[str, int] | None = None

    def _transition(self, stage: str) -> None:
        super()._transition(stage)
        if stage != "migrated":
            return
        if os.environ.get("RG_TEST_WRITES_FILE"):
            self.before = row_changes(self.database_url())[1]
        table = os.environ.get("RG_TEST_LOCK_TABLE")
        if table:
            self.holder = psycopg.connect(self.database_url(), autocommit=True)
            self.holder.execute("begin")
            self.holder.execute(sql.SQL("lock table {} in access exclusive mode").format(qualify(table).ident))

    def close(self) -> None:
        if self.holder is not None:
            self.holder.close()
        super().close()


@pytest.hookimpl(tryfirst=True)
def pytest_rollout_make_target(config: pytest.Config, session: RolloutSession) -> InstrumentedTarget | None:
    if not session.loaded.env.is_local:
        return None
    target = InstrumentedTarget(session.loaded, project_root=session.project_root, run=session.run)
    env = session.loaded.env
    target.hooks.before_migrate.append(lambda t: capture_for(env, t.database_url(), session.baseline_path))
    return target


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    path = os.environ.get("RG_TEST_WRITES_FILE")
    rollout = session.config.stash.get(session_key, None)
    try:
        target = rollout.target() if rollout is not None else None
    except TargetError:
        return
    if not path or not isinstance(target, InstrumentedTarget) or target.before is None:
        return
    _total, after = row_changes(target.database_url())
    changed = {t: n - target.before.get(t, 0) for t, n in after.items() if n != target.before.get(t, 0)}
    Path(path).write_text(json.dumps(changed))
