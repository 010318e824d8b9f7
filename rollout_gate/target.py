"""What the suites run against: a remote environment, or the local rehearsal.

Which target a run gets is decided by the `pytest_rollout_make_target` hook (firstresult): the local
rehearsal and the remote target are its two built-in implementations; a team can add its own.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict

from rollout_gate.config import LoadedEnvironment
from rollout_gate.errors import HarnessError
from rollout_gate.phases import Phase


class TargetError(HarnessError):
    """The target cannot serve the run (unreachable, failed migration...). One line, no secrets."""


class Target(Protocol):
    loaded: LoadedEnvironment
    # True when the harness itself drives the target through the rollout (the local rehearsal).
    rehearsal: bool

    @property
    def base_url(self) -> str | None: ...

    def database_url(self) -> str:
        """DSN for catalog reads, integrity checks and impersonated probes."""
        ...

    def advance_to(self, phase: Phase) -> None:
        """Bring the target to the state a test of `phase` expects (a no-op on a real environment)."""
        ...

    def migration_sets(self) -> tuple[Path, Path] | None:
        """The migration and rollback sets this target applies itself, if it applies any."""
        ...

    def scratch_dsn(self) -> str | None:
        """A server of the target's own for throwaway databases (rehearsals), if it has one."""
        ...

    def mailbox_dir(self) -> Path | None:
        """The Maildir the target delivers test mail to, if the target itself provides one."""
        ...

    def close(self) -> None: ...


def check_reachable(url: str, key: str, timeout: float, default_port: int) -> None:
    """Open a TCP connection to the URL's host, or raise TargetError naming host and key."""
    try:
        if "://" in url:
            parts = urlsplit(url)
            host, port = parts.hostname, parts.port or default_port
        else:  # a key/value DSN: "host=db port=5432 dbname=app"
            info = conninfo_to_dict(url)
            host, port = str(info.get("host") or ""), int(info.get("port") or default_port)
    except (ValueError, psycopg.ProgrammingError):
        raise TargetError(f"{key} is not a valid URL") from None
    if not host:
        raise TargetError(f"{key} has no host")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return
    except TimeoutError:
        reason = f"no answer within {timeout:g}s"
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    raise TargetError(f"target unreachable: {host}:{port} ({key}): {reason}")


class RemoteTarget:
    """A deployed environment (staging, production): the harness only observes it."""

    rehearsal = False

    def __init__(self, loaded: LoadedEnvironment) -> None:
        self.loaded = loaded
        # key -> None (reachable) or the error line; a dead host costs one timeout per run, not per test.
        self._checked: dict[str, str | None] = {}

    def _check(self, url: str, key: str, default_port: int) -> None:
        if key not in self._checked:
            try:
                check_reachable(url, key, self.loaded.env.target.connect_timeout, default_port)
                self._checked[key] = None
            except TargetError as exc:
                self._checked[key] = str(exc)
        if self._checked[key]:
            raise TargetError(self._checked[key])

    @property
    def base_url(self) -> str | None:
        url = self.loaded.env.target.base_url
        if url:
            self._check(url, "target.base_url", 443)
        return url

    def database_url(self) -> str:
        target = self.loaded.env.target
        secret, key = (
            (target.admin_database_url, "target.admin_database_url")
            if target.admin_database_url
            else (target.database_url, "target.database_url")
        )
        if secret is None:
            raise TargetError(f"{self.loaded.path}: target.database_url is not set")
        dsn = secret.get_secret_value()
        self._check(dsn, key, 5432)
        return dsn

    def advance_to(self, phase: Phase) -> None:
        """Operators move a real environment between phases; the harness never does."""

    def migration_sets(self) -> tuple[Path, Path] | None:
        return None

    def scratch_dsn(self) -> str | None:
        return None

    def mailbox_dir(self) -> Path | None:
        return None

    def close(self) -> None:
        pass
