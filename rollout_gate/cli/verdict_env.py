"""The environment `rollout-gate verdict` decides over: `--env`, else the one every gate file records."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from rollout_gate.config import ConfigError, LoadedEnvironment, load_environment, resolve_path
from rollout_gate.gate.files import GateFile, GateFileError


def environment_for(files: Sequence[GateFile], env: str | None, environments_dir: Path) -> LoadedEnvironment:
    """Load the environment; every file must record it (with `--env`, a file may record none)."""
    loaded = environment(env, environments_dir) if env else None
    if loaded is not None:
        expected, source = loaded.env.name, "--env"
    else:
        unnamed = next((f for f in files if not f.data.get("environment")), None)
        if unnamed is not None:
            raise GateFileError(f"{unnamed.path}: names no environment (pass --env NAME|PATH)")
        expected, source = str(files[0].data["environment"]), str(files[0].path)
    for f in files:
        name = f.data.get("environment")
        if name and name != expected:
            raise GateFileError(f"{f.path}: environment {name}, not {expected} (from {source})")
    return loaded if loaded is not None else _recorded(files, expected, environments_dir)


def _recorded(files: Sequence[GateFile], name: str, environments_dir: Path) -> LoadedEnvironment:
    """The environment file a gate file names, where it exists here; else NAME in --environments-dir."""
    recorded = [Path(str(f.data["environment_file"])) for f in files if f.data.get("environment_file")]
    path = next((p for p in recorded if p.is_file()), None)
    if path is None:
        if not name.isidentifier() and not name.replace("-", "_").isidentifier():
            raise ConfigError(f"environment {name!r} recorded in the gate files is not a name: pass --env NAME|PATH")
        path = resolve_path(name, environments_dir)
    loaded = load_environment(path, _Placeholders(os.environ))
    if loaded.env.name != name:
        raise ConfigError(f"{path}: is environment {loaded.env.name}, but the gate files record {name}")
    return loaded


def environment(name: str, environments_dir: Path) -> LoadedEnvironment:
    """`--env NAME|PATH`, loaded as the plugin loads it, without needing its ${VARS}."""
    return load_environment(resolve_path(name, environments_dir), _Placeholders(os.environ))


class _Placeholders(Mapping[str, str]):
    """The real environment, with a placeholder for each unset variable: only criteria and thresholds matter here."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def __getitem__(self, key: str) -> str:
        return self._environ.get(key) or f"unset-{key}"

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        """Only real values: a `${VAR:-default}` keeps its default when VAR is unset."""
        return self._environ.get(key, default)

    def __contains__(self, key: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._environ)

    def __len__(self) -> int:
        return len(self._environ)
