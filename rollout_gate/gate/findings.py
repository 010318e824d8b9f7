"""Findings: what a failing or review check found, and where (tables, policies, functions, roles, probe row keys).

A check records them on its test with `record(request, findings)`; they travel to the controller in the
test's report (`user_properties`, so xdist carries them), the gate gathers them per criterion into
gate.json (`criteria[].findings`) and gate.md, through the same secret redaction as everything else.
They are detail, never evidence: no verdict or status depends on them. A row is named by its primary-key
values only (`public.clients: id=42`), never by its data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

TABLE, VIEW, POLICY, FUNCTION, ROLE, ROW_KEY = "table", "view", "policy", "function", "role", "row_key"
KINDS = (TABLE, VIEW, POLICY, FUNCTION, ROLE, ROW_KEY)
FINDINGS_PROPERTY = "rollout_findings"
# Per criterion in gate.json; the rest is counted (`findings_omitted`), the failing test's output has them all.
MAX_PER_CRITERION = 200


@dataclass(frozen=True)
class Finding:
    kind: str
    name: str
    # The check's rule (`always_true_policy`, `probe_select`...) and one line of what it found.
    rule: str = ""
    detail: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"finding kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if not self.name:
            raise ValueError(f"a {self.kind} finding needs a name")

    def to_json(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Finding:
        return cls(str(data["kind"]), str(data["name"]), str(data.get("rule", "")), str(data.get("detail", "")))


class _Node(Protocol):
    user_properties: list[tuple[str, object]]


class _Request(Protocol):
    @property
    def node(self) -> Any: ...


def record(where: _Request | _Node, findings: Iterable[Finding]) -> list[Finding]:
    """Attach `findings` to the test of `where` (a pytest request or item) for the gate; returns them."""
    found = list(findings)
    if found:
        node = where.node if hasattr(where, "node") else where
        node.user_properties.append((FINDINGS_PROPERTY, [f.to_json() for f in found]))
    return found


def from_properties(properties: Iterable[tuple[str, object]]) -> list[Finding]:
    """The findings a test's report carries (each phase's report repeats them: once each)."""
    out = []
    for key, value in properties:
        if key == FINDINGS_PROPERTY and isinstance(value, list):
            out += [Finding.from_json(v) for v in value if isinstance(v, Mapping)]
    return unique(out)


def unique(findings: Iterable[Finding]) -> list[Finding]:
    return list(dict.fromkeys(findings))


class _Probe(Protocol):
    @property
    def op(self) -> str: ...
    @property
    def table(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def other(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def policies(self) -> str: ...


def probe_findings(results: Iterable[_Probe]) -> list[Finding]:
    """Where probe results happened: the table, the policies in play, who acted, the rows' keys.

    The probe's own detail is left out: it may quote an error message, which can hold row values.
    """
    out = []
    for r in results:
        against = f" against tenant {r.other}" if r.other else ""
        # A spoof probe's column (the user column forged): what the finding is about, not row data.
        column = getattr(r, "column", None)
        of = f" of {column}" if column else ""
        detail = f"{r.table}: {r.op.upper()}{of} as {r.actor}{against}: {r.status}"
        rule = f"probe_{r.op}"
        out.append(Finding(TABLE, r.table, rule, detail))
        out += [Finding(POLICY, name, rule, detail) for name in policy_names(r.policies)]
        out.append(Finding(ROLE, r.actor, rule, detail))
        # ProbeResult.keys: primary-key values as `col=value` (absent before the probes record them).
        out += [Finding(ROW_KEY, f"{r.table}: {key}", rule, detail) for key in getattr(r, "keys", ())]
    return unique(out)


# rollout_gate.catalog.model.Policy.describe(): "name (COMMAND[ RESTRICTIVE] to roles[ USING …])", "; "-joined.
_DESCRIBED = re.compile(r"(.+?) \((?:SELECT|INSERT|UPDATE|DELETE|ALL)(?: RESTRICTIVE)? to ")


def policy_names(described: str) -> list[str]:
    """Policy names out of `Policy.describe()` texts joined by "; " ("no … policy for …" names none)."""
    names = []
    for part in described.split("; ") if described else []:
        match = _DESCRIBED.match(part)
        if match:
            names.append(match.group(1))
    return list(dict.fromkeys(names))


def grouped(findings: Iterable[Finding]) -> list[tuple[str, str, list[Finding]]]:
    """Findings of one rule and detail together, in first-seen order: one line of gate.md each."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.rule, f.detail), []).append(f)
    return [(rule, detail, items) for (rule, detail), items in groups.items()]
