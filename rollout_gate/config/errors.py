from __future__ import annotations


class ConfigError(Exception):
    """A problem with an environment file, reported as one line naming the file and key."""
