"""What a probe run found: one `ProbeResult` per (member, table, operation), and how statements went."""

from __future__ import annotations

from dataclasses import dataclass, field

from rollout_gate.catalog.names import QualifiedName
from rollout_gate.catalog.tenancy import TenancyModel
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

    def __str__(self) -> str:
        against = f" against tenant {self.other}" if self.other else ""
        policies = f"; policies: {self.policies}" if self.policies else ""
        return f"{self.table}: {self.op.upper()} as {self.actor}{against}: {self.detail}{policies}"


@dataclass
class ProbeRun:
    results: list[ProbeResult] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    statements: int = 0
    seconds: float = 0.0
    writes: bool = False

    def of(self, ops: tuple[str, ...], status: str | None = None) -> list[ProbeResult]:
        return [r for r in self.results if r.op in ops and (status is None or r.status == status)]

    def coverage_gaps(self, populated: list[QualifiedName], model: TenancyModel) -> list[str]:
        """Populated tenant tables where no probe of an operation that applies to them was conclusive."""
        gaps = []
        for name in populated:
            table = model.tenant_table_of(name)
            ops: tuple[str, ...] = READ_OPS + ANON_OPS[:1] + BLIND_OPS
            if self.writes:
                ops += ("update", "delete") if table is not None and table.is_tenant_table else WRITE_OPS
            for op in ops:
                probes = [r for r in self.of((op,)) if r.table == str(name)]
                if not any(r.status != INCONCLUSIVE for r in probes):
                    why = "; ".join(sorted({r.detail for r in probes})) or "not probed"
                    gaps.append(f"{name}: no conclusive {op} probe ({why})")
        return gaps

    def verdict(self, ops: tuple[str, ...]) -> Verdict:
        return Verdict(ops, self.of(ops, LEAK), self.of(ops, OK), self.of(ops, INCONCLUSIVE))

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
    """How one probe statement went: rows touched/seen, or the error that rejected it."""

    rows: int | None
    sqlstate: str | None = None
    error: str = ""

    @property
    def touched(self) -> bool:
        return bool(self.rows)

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
    """The probes of some operations: leaks fail, and without one conclusive probe nothing was shown."""

    ops: tuple[str, ...]
    leaks: list[ProbeResult]
    passed: list[ProbeResult]
    inconclusive: list[ProbeResult]

    def leak_report(self, limit: int = 20) -> str:
        lines = [str(r) for r in self.leaks[:limit]]
        more = [f"... and {len(self.leaks) - limit} more"] if len(self.leaks) > limit else []
        return f"{len(self.leaks)} cross-tenant leak(s):\n" + "\n".join(lines + more)

    def why_inconclusive(self) -> str:
        reasons = sorted({f"{r.table}: {r.detail}" for r in self.inconclusive})
        shown = "; ".join(reasons[:5]) or "no probe ran"
        return f"inconclusive: no {'/'.join(self.ops)} probe could show anything ({shown})"

    def summary(self) -> str:
        tables = sorted({r.table for r in self.passed})
        return (
            f"{len(self.passed)} conclusive probe(s) on {', '.join(tables) or 'no table'}; "
            f"{len(self.inconclusive)} inconclusive"
        )
