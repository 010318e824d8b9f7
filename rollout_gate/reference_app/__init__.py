"""Reference multi-tenant time-tracking app: v1 schema, v2 migrations, rollback and a deterministic seeder.

Shipped as package resources so the local rehearsal works from any directory (`pip install
'rollout-gate[local]'`); `ROLLOUT_MIGRATIONS_DIR` / `local.migrations_dir` replace the sets.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _resource_dir(name: str) -> Path:
    # Wheels install unpacked, so the package's files are real directories (SQL files are applied by path).
    return Path(str(resources.files(__name__).joinpath(name)))


def schema_dir() -> Path:
    """The v1 (single-tenant) schema the local target seeds."""
    return _resource_dir("schema")


def migrations_dir() -> Path:
    """The reference v2 migration set."""
    return _resource_dir("migrations")


def rollback_dir() -> Path:
    """The reference rollback set (restores v1 exactly)."""
    return _resource_dir("rollback")
