"""The harness's one exception family. Every error is one line that names the file, key, host or tool
involved and never carries a secret; where it surfaces decides the outcome (usage error, harness error)."""

from __future__ import annotations


class RolloutGateError(Exception):
    """Base of every error the harness raises on purpose."""


class ConfigError(RolloutGateError):
    """A problem with an environment file or an option: a usage error (exit 4), naming the file and key."""


class HarnessError(RolloutGateError, RuntimeError):
    """The harness could not verify something (a target, tool or source unusable): never a pass."""
