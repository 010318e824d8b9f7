"""Declared role rules (`api.role_rules`): a user of a role in tenant A makes a call; the status must match.

A refused write is judged by what A reads back too: the rule's resource item unchanged, and no item
carrying the request's marker listed. What an allowed write made is deleted as A.
"""

from __future__ import annotations

from rollout_gate.api.client import ApiClient, describe
from rollout_gate.api.config import RoleRule
from rollout_gate.api.resources import Actor, ResourceProbes, fill


def check_rule(
    client: ApiClient, rule: RoleRule, actor: Actor, probes: ResourceProbes | None, item: str | None
) -> list[str]:
    """The problems of one rule, called by `actor` (the role's user in tenant A); empty: it held.
    `probes` is the rule's resource (required for writes: config validation), `item` its id for `{id}`."""
    values = {"tenant": actor.tenant}
    if item is not None:
        values["id"] = item
    marker = probes.marker() if probes is not None and rule.writes else None
    if probes is not None and marker is not None:
        probes.markers.append(marker)
        values["marker"] = marker
    path, body = str(fill(rule.path, values)), fill(rule.body, values)
    before = probes.stored(item) if probes is not None and item is not None else None
    if probes is not None:
        header_tenant = actor.tenant if probes.resource.tenant.by == "header" else None
        response = probes.call(actor, rule.method, path, tenant=header_tenant, json=body)
    else:
        response = client.request(rule.method, path, session=actor.session, json=body)
    problems = []
    if response.status_code not in rule.expect:
        wanted = "/".join(map(str, rule.expect))
        hint = " (let through: something behind the app's check failed)" if response.status_code >= 500 else ""
        problems.append(f"role rule {rule.label}: answered {response.status_code}, expected {wanted}{hint}: "
                        f"{describe(response)}")  # fmt: skip
    refused = not 200 <= response.status_code < 300
    said = f"role rule {rule.label}: refused ({response.status_code}) but"
    if rule.writes and refused and probes is not None:
        if before is not None and item is not None:
            after = probes.stored(item)
            if after != before:
                change = f"{before.status} -> {after.status}" if after.status != before.status else "content changed"
                problems.append(f"{said} A's item changed ({change})")
        if marker is not None:
            stored = probes.ids_with_marker(marker)
            probes.created += [i for i in stored if i not in probes.created]
            if stored:
                problems.append(f"{said} stored {', '.join(stored)}")
    return problems
