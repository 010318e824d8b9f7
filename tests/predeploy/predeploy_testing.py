"""Paths and helpers of the pre-deploy tests."""

from __future__ import annotations

from pathlib import Path

import psycopg

from rollout_gate.local.target import LocalTarget
from tests.rehearsal import ROOT

DATA = Path(__file__).parent / "data"
REFERENCE_MIGRATIONS = ROOT / "rollout_gate" / "reference_app" / "migrations"
REFERENCE_ROLLBACK = ROOT / "rollout_gate" / "reference_app" / "rollback"


def scratch_databases(target: LocalTarget) -> list[str]:
    """Scratch databases still on the embedded server (there must be none after any check)."""
    with psycopg.connect(target.info.dsn(), autocommit=True) as conn:
        rows = conn.execute("select datname from pg_database where datname like 'rg\\_scratch\\_%' order by 1")
        return [r[0] for r in rows.fetchall()]
