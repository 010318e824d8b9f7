"""Parts of the top-level `integrity:` block of an environment file (`IntegrityConfig` in config/models.py).

Kept beside the code that reads them, like `predeploy/config.py`; every block forbids unknown keys.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

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
