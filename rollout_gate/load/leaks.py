"""Find another tenant's ids in a response body: the isolation check every load request runs."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from typing import Any

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def foreign_tenants(
    text: str,
    payload: Any,
    *,
    mine: Collection[str],
    known_tenants: Collection[str],
    tenant_fields: Collection[str],
) -> set[str]:
    """Tenant ids in a response that are not the user's.

    Two nets: any value under a tenant-key field (JSON) that is not one of the
    user's tenants, and any id of another known tenant anywhere in the text
    (JSON or HTML), whatever the field is called.
    """
    found = {value for value in _tenant_values(payload, tenant_fields) if value not in mine}
    others = set(known_tenants) - set(mine)
    if others:
        found |= {m.lower() for m in _UUID.findall(text)} & others
    return found


def _tenant_values(payload: Any, fields: Collection[str]) -> Iterator[str]:
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key in fields and isinstance(value, str):
                yield value.lower()
            else:
                yield from _tenant_values(value, fields)
    elif isinstance(payload, list):
        for item in payload:
            yield from _tenant_values(item, fields)
