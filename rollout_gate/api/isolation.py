"""Cross-tenant probes of an API: a member of one organization asks for another's resources.

For every tenant-scoped endpoint, three requests with the attacker's token:
- foreign: every id from the victim's organization -> must be refused (403/404 by default);
- mixed: the attacker's organization with the victim's resource ids -> refused, or rejected as invalid
  (400/422: "that project is not in this organization");
- own (GET only): the attacker's own ids -> must succeed, which proves the probes above are meaningful
  (a wrong path in the environment file would otherwise "refuse" everything).
No response body may carry any of the victim's markers (ids, names, emails), except those the request
itself carried.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from rollout_gate.api.client import ApiClient, Session
from rollout_gate.api.config import TenantEndpoint
from rollout_gate.api.endpoints import endpoint_id, fill, placeholders

Form = Literal["foreign", "mixed", "own"]
INVALID_REFERENCE = (400, 422)


@dataclass(frozen=True)
class Tenant:
    """One test organization as the probes see it."""

    label: str
    session: Session
    # placeholder -> id, e.g. {"org": "...", "project": "..."}
    ids: dict[str, str]
    # value -> what it is ("project id", "organization name"): must never show up in another tenant's responses
    markers: dict[str, str]


@dataclass(frozen=True)
class Probe:
    endpoint: TenantEndpoint
    form: Form
    path: str
    body: Any

    def describe(self, attacker: Tenant, victim: Tenant) -> str:
        whose = {"foreign": f"{victim.label}'s ids", "mixed": f"{attacker.label}'s org, {victim.label}'s ids"}
        return f"{endpoint_id(self.endpoint)} as {attacker.label} with {whose.get(self.form, 'its own ids')}"


def probes(endpoint: TenantEndpoint, attacker: Tenant, victim: Tenant) -> list[Probe]:
    names = placeholders(endpoint)
    out = [Probe(endpoint, "foreign", fill(endpoint.path, victim.ids), fill(endpoint.body, victim.ids))]
    if "org" in names and names - {"org"}:
        mixed = {**victim.ids, "org": attacker.ids["org"]}
        out.append(Probe(endpoint, "mixed", fill(endpoint.path, mixed), fill(endpoint.body, mixed)))
    if endpoint.method == "GET":
        out.append(Probe(endpoint, "own", fill(endpoint.path, attacker.ids), None))
    return out


def leaked(text: str, markers: dict[str, str], *, ignore: str = "") -> list[str]:
    """Descriptions of the markers present in `text` (case-insensitive), except those in `ignore`."""
    haystack, asked = text.lower(), ignore.lower()
    return sorted({what for value, what in markers.items() if value.lower() in haystack and value.lower() not in asked})


def run_probe(client: ApiClient, probe: Probe, attacker: Tenant, victim: Tenant, refused: tuple[int, ...]) -> list[str]:
    """The problems one probe found (empty: it held)."""
    response = client.request(probe.endpoint.method, probe.path, token=attacker.session.token, json=probe.body)
    status = response.status_code
    where = probe.describe(attacker, victim)
    problems = []
    if probe.form == "own":
        if not 200 <= status < 300:
            problems.append(f"{where}: {status} for its own resources, so the cross-tenant probes prove nothing")
    else:
        allowed = refused if probe.form == "foreign" else (*refused, *INVALID_REFERENCE)
        if status not in allowed:
            expected = "/".join(map(str, allowed))
            problems.append(f"{where}: answered {status}, expected a refusal ({expected})")
    found = leaked(response.text, victim.markers, ignore=probe.path + repr(probe.body))
    if found:
        problems.append(f"{where}: the response carries {victim.label}'s {', '.join(found)}")
    return problems


def snapshot(client: ApiClient, endpoints: tuple[TenantEndpoint, ...], tenant: Tenant) -> dict[str, tuple[int, str]]:
    """What the tenant's own GET endpoints answer it: compared before and after the probes."""
    state = {}
    for endpoint in endpoints:
        if endpoint.method == "GET":
            path = fill(endpoint.path, tenant.ids)
            response = client.request("GET", path, token=tenant.session.token)
            state[endpoint_id(endpoint)] = (response.status_code, response.text)
    return state


def changes(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> list[str]:
    return [
        f"{key}: {before[key][0]} -> {after[key][0]}" if before[key][0] != after[key][0] else f"{key}: body changed"
        for key in before
        if after.get(key) != before[key]
    ]


def probe_endpoint(
    client: ApiClient,
    endpoint: TenantEndpoint,
    attacker: Tenant,
    victim: Tenant,
    *,
    refused: tuple[int, ...],
    views: tuple[TenantEndpoint, ...] = (),
) -> list[str]:
    """Every probe of one endpoint; for a write, also that the victim's `views` (GETs) did not change."""
    watch = endpoint.method != "GET" and bool(views)
    before = snapshot(client, views, victim) if watch else {}
    problems = []
    for probe in probes(endpoint, attacker, victim):
        problems += run_probe(client, probe, attacker, victim, refused)
    if watch:
        after = snapshot(client, views, victim)
        problems += [
            f"{endpoint_id(endpoint)} as {attacker.label} changed {victim.label}'s data: {change}"
            for change in changes(before, after)
        ]
    return problems
