"""A load run killed outright leaves the rows its virtual users wrote in real organizations (pool_csv users
write into their own tenants); `rollout-gate sweep` finds them by the run prefix in their note."""

from __future__ import annotations

from pathlib import Path

import psycopg
import yaml

from rollout_gate.cli import main
from rollout_gate.provisioning.model import RUN_PREFIX_ROOT
from tests.provisioning.local_targets import local_target

ENTRY = """
insert into public.time_entries (organization_id, user_id, project_id, started_at, ended_at, note, created_at)
select organization_id, user_id, id, now() - interval '4 hours', now() - interval '3 hours', %(note)s,
       now() - %(age)s::interval
from public.projects where organization_id is not null order by id limit 1
"""


def _notes(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "select note, count(*) from public.time_entries where note like 'rg-test-%%' or note = 'a real entry' "
            "group by note"
        ).fetchall()
    return {str(note): int(n) for note, n in rows}


def test_sweep_removes_old_load_rows_in_real_tenants_and_nothing_else(tmp_path: Path) -> None:
    with local_target("sweep-load") as target:
        from rollout_gate.phases import Phase

        target.advance_to(Phase.POST_MIGRATION)
        dsn = target.database_url()
        killed, live = f"{RUN_PREFIX_ROOT}20260101000000-dead00-main-load", f"{RUN_PREFIX_ROOT}live-main-load"
        with psycopg.connect(dsn, autocommit=True) as conn:
            for note, age in ((killed, "3 hours"), (live, "1 minute"), ("a real entry", "3 hours")):
                conn.execute(ENTRY, {"note": note, "age": age})
        env = {"name": "sweepable", "kind": "remote", "target": {"database_url": dsn}, "safety": {"allow_writes": True}}
        env_file = tmp_path / "sweepable.yaml"
        env_file.write_text(yaml.safe_dump(env))
        assert main(["sweep", "--env", str(env_file), "--older-than", "2h", "--dry-run"]) == 0
        assert _notes(dsn) == {killed: 1, live: 1, "a real entry": 1}
        assert main(["sweep", "--env", str(env_file), "--older-than", "2h"]) == 0
        assert _notes(dsn) == {live: 1, "a real entry": 1}
