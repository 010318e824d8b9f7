"""What a probe run found: one `ProbeResult` per (member, table, operation), and how statements went."""

from __future__ import annotations

from dataclasses import dataclass, field

from rollout_gate.catalog.names import QualifiedName
from rollout_gate.catalog.tenancy import TenancyModel
from rollout_gate.isolation.impersonation import anon_not_applicable
from rollout_gate.isolation.sampling import Member

OK, LEAK, INCONCLUSIVE = "ok", "leak", "inconclusive"
READ_OPS = ("select",)
WRITE_OPS = ("update", "delete", "insert", "move")
# Replays of the UPDATE/DELETE policies (nothing written: they run where writes are forbidden too).
BLIND_OPS = ("blind_update", "blind_delete")
SPOOF_OPS = ("spoof_insert", "spoof_update")
ANON_OPS = ("anon_select", "anon_insert", "anon_update", "anon_delete")


@dataclass(frozen=True)
class ProbeResult:
    op: str
    table: str
    actor: str
    other: str | None
    status: str
    detail: str
    policies: str = ""
    # Primary keys (`col=value`, or `ctid=(p,n)` without one) of the probe rows involved; never row data.
    keys: tuple[str, ...] = ()
    # The column a spoofing probe aimed at: (table, op, column) is what coverage counts for spoofs.
    column: str | None = None

    def __str__(self) -> str:
        against = f" against tenant {self.other}" if self.other else ""
        rows = f" [rows {'; '.join(self.keys[:3])}]" if self.keys else ""
        policies = f"; policies: {self.policies}" if self.policies else ""
        return f"{self.table}: {self.op.upper()} as {self.actor}{against}: {self.detail}{rows}{policies}"


@dataclass
class ProbeRun:
    results: list[ProbeResult] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    statements: int = 0
    seconds: float = 0.0
    writes: bool = False
    # (table, op) pairs the runner meant to prove: one missing from `results` is a gap too.
    expected: set[tuple[str, str]] = field(default_factory=set)
    # SELECT probes whose positive control passed (the member saw its own tenant's rows): without
    # one, impersonation did not work as the target's stack does, and nothing else means anything.
    read_controls: int = 0

    def of(self, ops: tuple[str, ...], status: str | None = None) -> list[ProbeResult]:
        return [r for r in self.results if r.op in ops and (status is None or r.status == status)]

    def gaps(self, ops: tuple[str, ...]) -> list[str]:
        """Every (table, operation[, column]) of `ops` that no probe proved, by name, with why."""
        groups: dict[tuple[str, str, str | None], list[ProbeResult]] = {}
        for r in self.of(ops):
            groups.setdefault((r.table, r.op, r.column), []).append(r)
        out = []
        for (table, op, column), probes in sorted(groups.items(), key=lambda g: (g[0][0], g[0][1], g[0][2] or "")):
            if all(r.status == INCONCLUSIVE for r in probes):
                why = "; ".join(sorted({r.detail for r in probes})[:3])
                out.append(f"{table}: {op.upper()}{f' of {column}' if column else ''}: not proved ({why})")
        probed = {(t, op) for t, op, _ in groups}
        out += [f"{t}: {op.upper()}: not probed" for t, op in sorted(self.expected - probed) if op in ops]
        return out

    def coverage_gaps(self, populated: list[QualifiedName], model: TenancyModel) -> list[str]:
        """Populated tenant tables where no probe of an operation that applies to them was conclusive (the
        anonymous read applies unless the environment file declares no anonymous role)."""
        gaps = []
        for name in populated:
            table = model.tenant_table_of(name)
            anon = ANON_OPS[:1] if anon_not_applicable(model.config.impersonation) is None else ()
            ops: tuple[str, ...] = READ_OPS + anon + BLIND_OPS
            if self.writes:
                ops += ("update", "delete") if table is not None and table.is_tenant_table else WRITE_OPS
            for op in ops:
                probes = [r for r in self.of((op,)) if r.table == str(name)]
                if not any(r.status != INCONCLUSIVE for r in probes):
                    why = "; ".join(sorted({r.detail for r in probes})) or "not probed"
                    gaps.append(f"{name}: no conclusive {op} probe ({why})")
        return gaps

    def verdict(self, ops: tuple[str, ...]) -> Verdict:
        return Verdict(ops, self.of(ops, LEAK), self.of(ops, OK), self.of(ops, INCONCLUSIVE), self.gaps(ops))

    def why_no_read_control(self) -> str | None:
        """One line when no member's SELECT probe reached its positive control (None when one did)."""
        if self.read_controls:
            return None
        reads = [r for r in self.of(READ_OPS) if r.actor != "anon"]
        reasons = sorted({r.detail for r in reads})
        shown = "; ".join(reasons[:2]) or "no SELECT probe ran"
        return (
            f"inconclusive: no member read probe reached its positive control (no impersonated member saw its own "
            f"tenant's rows, so every other result is unproven): {shown}"
        )

    @property
    def rate(self) -> float:
        """Probe statements per second (each control and each cross-tenant attempt counts once)."""
        return self.statements / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        counts = {s: len([r for r in self.results if r.status == s]) for s in (OK, LEAK, INCONCLUSIVE)}
        return (
            f"{len(self.members)} member(s), {len(self.results)} probe(s): {counts[OK]} ok, {counts[LEAK]} leak(s), "
            f"{counts[INCONCLUSIVE]} inconclusive; {self.statements} statements in {self.seconds:.2f}s "
            f"({self.rate:.0f}/s); writes {'probed' if self.writes else 'not probed (forbidden)'}"
        )


@dataclass(frozen=True)
class Attempt:
    """How one probe statement went: rows touched/seen, or the error that rejected it.

    `stored` holds what the target really stored in the probed column(s) afterwards, read back as
    admin inside the same savepoint (None: not read back).
    """

    rows: int | None
    sqlstate: str | None = None
    error: str = ""
    stored: tuple[str | None, ...] | None = None

    @property
    def touched(self) -> bool:
        return bool(self.rows)

    @property
    def constraint_error(self) -> bool:
        """Rejected by the data (a constraint, a bad value), not by a policy or a privilege."""
        return self.rows is None and (self.sqlstate or "")[:2] in ("22", "23")

    def __str__(self) -> str:
        return f"{self.rows} row(s)" if self.rows is not None else f"rejected ({self.sqlstate}: {self.error})"

    @property
    def how_rejected(self) -> str:
        if self.rows == 0:
            return "touched 0 rows"
        if self.sqlstate == "42501":
            return f"rejected: {self.error}"
        return f"rejected by a constraint, not by a policy ({self.sqlstate}: {self.error})"


@dataclass(frozen=True)
class Verdict:
    """The probes of some operations: leaks fail; a (table, operation) no probe proved is a gap."""

    ops: tuple[str, ...]
    leaks: list[ProbeResult]
    passed: list[ProbeResult]
    inconclusive: list[ProbeResult]
    gaps: list[str] = field(default_factory=list)

    def leak_report(self, limit: int = 20) -> str:
        lines = [str(r) for r in self.leaks[:limit]]
        more = [f"... and {len(self.leaks) - limit} more"] if len(self.leaks) > limit else []
        return f"{len(self.leaks)} cross-tenant leak(s):\n" + "\n".join(lines + more)

    def why_inconclusive(self, limit: int = 20) -> str:
        if not self.passed and not self.gaps:
            reasons = sorted({f"{r.table}: {r.detail}" for r in self.inconclusive})
            shown = "; ".join(reasons[:5]) or "no probe ran"
            return f"inconclusive: no {'/'.join(self.ops)} probe could show anything ({shown})"
        more = [f"... and {len(self.gaps) - limit} more"] if len(self.gaps) > limit else []
        return f"inconclusive: {len(self.gaps)} coverage gap(s), (table, operation) no probe proved:\n" + "\n".join(
            self.gaps[:limit] + more
        )

    def summary(self) -> str:
        tables = sorted({r.table for r in self.passed})
        return (
            f"{len(self.passed)} conclusive probe(s) on {', '.join(tables) or 'no table'}; "
            f"{len(self.inconclusive)} inconclusive"
        )
