"""Runbook "Post-Rollback Actions: Verify all users can access application", on the local rehearsal.

The old version is the reference app's v1 (its single-tenant API on the v1 schema), which the local
target serves after the rollback: pre-migration users sign in and read back exactly as many of their
own rows as the baseline counted for them. Collected on the local target only (see conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rollout_gate.api.client import ApiClient, Session, expect
from rollout_gate.integrity.baseline import UserCounts
from rollout_gate.integrity.fingerprint import BaselineError
from rollout_gate.provisioning.existing import ExistingUser
from rollout_gate.pytest.session import RolloutSession

pytestmark = [pytest.mark.rollback, pytest.mark.criterion("rollback_app_serves")]

# The reference v1 API: resource -> the table its rows come from.
V1_RESOURCES = {"clients": "public.clients", "projects": "public.projects", "time-entries": "public.time_entries"}
PAGE = 500


def test_old_version_is_healthy(rollout_old_version: ApiClient) -> None:
    assert expect(rollout_old_version.request("GET", "/health"), 200) == {"status": "ok", "database": "ok"}
    assert rollout_old_version.request("GET", "/api/clients").status_code == 401, "the old version serves data unsigned"


def test_pre_migration_users_see_their_data(
    rollout_old_version: ApiClient,
    rollout_old_version_sign_in: Callable[[ApiClient, ExistingUser], Session],
    rollout_existing_users: list[ExistingUser],
    rollout_session: RolloutSession,
) -> None:
    """Each pre-migration user signs in and reads back exactly the rows the baseline counted as theirs."""
    path = rollout_session.baseline_path
    try:
        counts = UserCounts.from_baseline(path)
    except BaselineError as exc:
        pytest.skip(f"inconclusive: {exc}")
    if counts is None:
        pytest.skip(f"inconclusive: the baseline {path} holds no per-user row counts: take it again with this harness")
    users = [u for u in rollout_existing_users if counts.rows_of(u.email) is not None]
    if not users:
        pytest.skip(f"inconclusive: {path} records no row counts for the pre-migration users")
    problems: list[str] = []
    for user in users:
        session = rollout_old_version_sign_in(rollout_old_version, user)
        expected = counts.rows_of(user.email) or {}
        for resource, table in V1_RESOURCES.items():
            rows = _all_rows(rollout_old_version, session, resource)
            foreign = [r for r in rows if str(r.get("user_id")) != session.user_id]
            if foreign:
                problems.append(f"{user.email}: /api/{resource} returns {len(foreign)} row(s) of other users")
            wanted = expected.get(table, 0)
            if len(rows) != wanted:
                problems.append(f"{user.email}: /api/{resource} lists {len(rows)} row(s), the baseline {wanted}")
    owned = sum((counts.rows_of(u.email) or {}).get(table, 0) for u in users for table in V1_RESOURCES.values())
    assert owned > 0, "the baseline users own no rows: the comparison would show nothing"
    assert not problems, "the old version does not show pre-migration users their data:\n" + "\n".join(problems)


def _all_rows(api: ApiClient, session: Session, resource: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        page = expect(
            api.request("GET", f"/api/{resource}", token=session.token, params={"limit": PAGE, "offset": len(rows)}),
            200,
        )
        rows += page["items"]
        if len(page["items"]) < PAGE:
            if page.get("total") != len(rows):
                pytest.fail(f"/api/{resource}: total {page.get('total')} but {len(rows)} row(s) listed", pytrace=False)
            return rows
