"""`${VAR}` and `${VAR:-default}` expansion inside loaded YAML values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rollout_gate.config.errors import ConfigError

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand(value: Any, environ: Mapping[str, str], *, where: str, path: str = "") -> Any:
    """Return `value` with every `${VAR}` in its strings replaced; a missing variable is a ConfigError."""
    if isinstance(value, dict):
        return {k: expand(v, environ, where=where, path=f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, environ, where=where, path=f"{path}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = environ.get(name)
        if value:
            return value
        if default is not None:
            return default
        # A mapping may stand in for unset variables (`rollout-gate verdict` needs only the criteria).
        if name in environ and environ[name]:  # noqa: RUF019 (`get` gives real values only there)
            return environ[name]
        raise ConfigError(f"{where}: {path}: environment variable {name} is not set")

    return _REFERENCE.sub(substitute, value)


def referenced_variables(value: Any) -> set[str]:
    """Names of all variables a loaded YAML document refers to."""
    if isinstance(value, dict):
        return set().union(*(referenced_variables(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(referenced_variables(v) for v in value)) if value else set()
    if isinstance(value, str):
        return {m.group(1) for m in _REFERENCE.finditer(value)}
    return set()
