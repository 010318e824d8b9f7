"""The per-response isolation check of the load run."""

from __future__ import annotations

import json

from rollout_gate.load.leaks import foreign_tenants

MINE = "11111111-1111-1111-1111-111111111111"
OTHER = "22222222-2222-2222-2222-222222222222"
UNKNOWN = "33333333-3333-3333-3333-333333333333"


def check(payload: object, text: str | None = None) -> set[str]:
    body = text if text is not None else json.dumps(payload)
    return foreign_tenants(body, payload, mine={MINE}, known_tenants={MINE, OTHER}, tenant_fields={"organization_id"})


def test_own_rows_are_clean() -> None:
    assert check({"items": [{"id": "p1", "organization_id": MINE}]}) == set()


def test_tenant_key_of_an_unknown_tenant_is_a_leak() -> None:
    assert check({"items": [{"organization_id": MINE}, {"organization_id": UNKNOWN}]}) == {UNKNOWN}


def test_known_tenant_id_under_any_name_or_in_html_is_a_leak() -> None:
    assert check({"owner": {"workspace": OTHER.upper()}}) == {OTHER}
    assert check(None, text=f'<a href="/orgs/{OTHER}/members">Team</a>') == {OTHER}


def test_ids_of_other_kinds_are_not_tenants() -> None:
    assert check({"items": [{"id": UNKNOWN, "organization_id": MINE}]}) == set()
