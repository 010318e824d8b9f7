"""Parts of the top-level `integrity:` block of an environment file (`IntegrityConfig` in config/models.py).

Kept beside the code that reads them, like `predeploy/config.py`; every block forbids unknown keys.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Rows one connection fingerprints per second without parallel workers (BENCHMARKS.md, "Integrity at
# scale": ~0.7-0.9 M rows/s per core for a time_entries-shaped table on this class of machine). The plan
# divides by it, so a slower server should say so (`integrity.budget.rows_per_s`).
DEFAULT_ROWS_PER_S = 600_000


class IntegrityBudget(BaseModel):
    """What one baseline (and one zero-data-loss compare) may cost the server: a plan over it is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Estimated wall time of all fingerprint scans together.
    time_s: float = Field(default=1800.0, gt=0, le=86400)
    # Server processes scanning at once: one connection per table, plus parallel workers per statement
    # when fewer tables than workers remain. Never more than the server allows (plan.py).
    workers: int = Field(default=2, ge=1, le=64)
    # Rows per second one scanning process manages (the plan's estimate; measure with benchmarks/fingerprint.py).
    rows_per_s: float = Field(default=DEFAULT_ROWS_PER_S, gt=0)
    # Connections left free for the application when sizing the pool (max_connections - in use - this).
    connection_margin: int = Field(default=10, ge=0)


class IntegritySampling(BaseModel):
    """Tables whose zero-data-loss check reads only a key-hash sample (docs/integrity-isolation.md,
    "Sampling"). Never by default: a table is sampled only when listed here, and the check of a sampled
    table feeds the warning-level `zero_data_loss_sampled` unless `blocking` is true (then it feeds the
    blocking `zero_data_loss`, and a loss found in the sample blocks like any other)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # schema.table -> the fraction of its rows (by key hash) fingerprinted at baseline and compare.
    tables: dict[str, float] = Field(default_factory=dict)
    blocking: bool = False

    @field_validator("tables")
    @classmethod
    def _fractions(cls, value: dict[str, float]) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, fraction in value.items():
            if not 0 < fraction < 1:
                raise ValueError(
                    f"{name}: a sample fraction is above 0 and below 1 (not {fraction}); "
                    "leave a table out to check every row"
                )
            if fraction < 1e-6:
                raise ValueError(f"{name}: a sample fraction below 0.000001 ({fraction}) checks next to nothing")
            qualified = _qualified(name)
            if qualified in out:
                raise ValueError(f"{name}: listed twice")
            out[qualified] = fraction
        return out

    def fraction(self, table: str) -> float | None:
        return self.tables.get(table)


def _qualified(text: str) -> str:
    """`events` -> public.events, as `catalog.names.qualify` reads it (not imported: config loads first)."""
    schema, dot, name = text.rpartition(".")
    return f"{(schema if dot else 'public').strip().strip(chr(34))}.{name.strip().strip(chr(34))}"
