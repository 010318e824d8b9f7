"""The runbook's "personal workspace created automatically; historical data visible": the reference contract.

Pre-migration rows are the user's rows created before their personal workspace (which the
migration, or their first sign-in, created); every one of them must be listed by the API there.
"""

from __future__ import annotations

from typing import Any

import psycopg

from rollout_gate.api.client import Session, expect
from rollout_gate.api.reference import ReferenceApi

KINDS = {"clients": "public.clients", "projects": "public.projects", "time-entries": "public.time_entries"}
PAGE = 500


def pre_migration_ids(conn: psycopg.Connection[Any], user_id: str) -> dict[str, set[str]]:
    ids = {}
    for kind, table in KINDS.items():
        rows = conn.execute(
            f"select t.id::text from {table} t where t.user_id = %(uid)s and t.created_at < "
            "(select o.created_at from public.organizations o where o.personal_owner_id = %(uid)s)",
            {"uid": user_id},
        ).fetchall()
        ids[kind] = {r[0] for r in rows}
    return ids


def listed_ids(api: ReferenceApi, session: Session, org: str, kind: str) -> set[str]:
    """Every id the API lists for `kind` in `org`, page by page."""
    ids: set[str] = set()
    offset = 0
    while True:
        page = expect(api.records(session, org, kind, limit=PAGE, offset=offset), 200)
        ids |= {str(item["id"]) for item in page["items"]}
        offset += PAGE
        if offset >= int(page["total"]) or not page["items"]:
            return ids


def missing_history(api: ReferenceApi, session: Session, org: str, conn: psycopg.Connection[Any]) -> dict[str, int]:
    """{kind: pre-migration rows the API does not show in the workspace}; empty when all are visible."""
    assert session.user_id, "the sign-in response did not name the user"
    expected = pre_migration_ids(conn, session.user_id)
    if not any(expected.values()):
        raise AssertionError(f"{session.email} has no pre-migration data: choose a user with history")
    missing = {}
    for kind, ids in expected.items():
        unseen = ids - listed_ids(api, session, org, kind) if ids else set()
        if unseen:
            missing[kind] = len(unseen)
    return missing
