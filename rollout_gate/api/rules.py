"""Assertions for authorization rules: what a refusal looks like, and what it must not have changed."""

from __future__ import annotations

import httpx

from rollout_gate.api.client import Session, describe, expect
from rollout_gate.api.reference import ReferenceApi

FORBIDDEN = (403, 404)
# An invitation that cannot be used: unknown, gone (used, expired, revoked), or for someone else.
INVITATION_REFUSED = (403, 404, 409, 410, 422)
# The last owner leaving: a conflict with the organization's state (or plainly forbidden).
LAST_OWNER_REFUSED = (403, 409)


def assert_refused(response: httpx.Response, action: str, statuses: tuple[int, ...] = FORBIDDEN) -> None:
    """`action` must have been refused with one of `statuses` (a 500 is not a refusal: it is a bug)."""
    if response.status_code not in statuses:
        wanted = "/".join(map(str, statuses))
        hint = ""
        if response.status_code >= 500:
            hint = " (the app let it through and something behind it failed: its own check is missing)"
        raise AssertionError(f"{action} was not refused ({wanted}){hint}: {describe(response)}")


def org_ids(api: ReferenceApi, session: Session) -> set[str]:
    """The organizations a user belongs to, as the API lists them."""
    return {str(o["id"]) for o in expect(api.organizations(session), 200)["items"]}


def assert_not_member(api: ReferenceApi, session: Session, org: str, why: str) -> None:
    if org in org_ids(api, session):
        raise AssertionError(f"{session.email} became a member of the organization: {why}")
