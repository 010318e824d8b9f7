"""Which migration set (and rollback set) the pre-deploy checks look at."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rollout_gate.predeploy.config import PredeployConfig

# The same overrides the local target honours, so a rehearsal of another set is one variable away.
MIGRATIONS_ENV = "ROLLOUT_MIGRATIONS_DIR"
ROLLBACK_ENV = "ROLLOUT_ROLLBACK_DIR"


@dataclass(frozen=True)
class MigrationSet:
    migrations: Path
    rollback: Path | None

    def describe(self) -> str:
        return f"{self.migrations} (rollback: {self.rollback or 'none'})"


def resolve(
    config: PredeployConfig,
    root: Path,
    environ: Mapping[str, str],
    *,
    local_dirs: tuple[Path, Path] | None = None,
) -> MigrationSet | None:
    """The set from the environment (variables first), else the local target's; None if not configured."""
    migrations = environ.get(MIGRATIONS_ENV) or config.migrations_dir
    rollback = environ.get(ROLLBACK_ENV) or config.rollback_dir
    if local_dirs is not None:
        migrations = migrations or str(local_dirs[0])
        rollback = rollback or str(local_dirs[1])
    if not migrations:
        return None
    return MigrationSet(_path(migrations, root), _path(rollback, root) if rollback else None)


def _path(value: str, root: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else root / path
