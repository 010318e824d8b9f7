"""Find, read, expand and validate an environment file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from rollout_gate.config.errors import ConfigError
from rollout_gate.config.expand import expand, referenced_variables
from rollout_gate.config.models import Environment
from rollout_gate.config.secrets import Redactor, redact_url


@dataclass(frozen=True)
class LoadedEnvironment:
    env: Environment
    path: Path
    redact: Redactor

    @property
    def base_dir(self) -> Path:
        """What relative paths in the file are relative to: the project holding its `environments/`
        folder (for a built-in environment, the package), else the file's own folder."""
        parent = self.path.resolve().parent
        return parent.parent if parent.name == "environments" else parent

    def describe_target(self) -> str:
        """One line naming the target, with every secret masked."""
        target = self.env.target
        parts = []
        if self.env.is_local:
            parts.append("embedded PostgreSQL + reference app")
        if target.base_url:
            parts.append(target.base_url)
        if target.database_url:
            parts.append(redact_url(target.database_url.get_secret_value()))
        return self.redact(", ".join(parts) or "(no target configured)")


def resolve_path(name_or_path: str, environments_dir: Path, builtin: Mapping[str, Path] | None = None) -> Path:
    """`staging` -> environments/staging.yaml; anything with a slash or a .yaml suffix is a path.
    A name the project has no file for may be a built-in environment (`local`, shipped with the package)."""
    if name_or_path.endswith((".yaml", ".yml")) or os.sep in name_or_path or "/" in name_or_path:
        path = Path(name_or_path)
        if not path.is_file():
            raise ConfigError(f"environment file {name_or_path} does not exist")
        return path
    path = environments_dir / f"{name_or_path}.yaml"
    if not path.is_file() and builtin and name_or_path in builtin:
        return builtin[name_or_path]
    if not path.is_file():
        known = sorted(p.stem for p in environments_dir.glob("*.yaml")) if environments_dir.is_dir() else []
        hint = f" (known: {', '.join(known)})" if known else ""
        raise ConfigError(f"unknown environment {name_or_path!r}: no {environments_dir}/{name_or_path}.yaml{hint}")
    return path


def load_environment(path: Path, environ: Mapping[str, str] | None = None) -> LoadedEnvironment:
    environ = os.environ if environ is None else environ
    where = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: invalid YAML{at}: {problem}") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read: {exc.strerror}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: the top level must be a mapping, not {type(raw).__name__}")
    raw.setdefault("name", path.stem)
    expanded = expand(raw, environ, where=where)
    try:
        env = Environment.model_validate(expanded)
    except ValidationError as exc:
        raise ConfigError(f"{where}: {_first_error(exc)}") from None
    redactor = Redactor.for_model(env, environ, referenced_variables(raw))
    return LoadedEnvironment(env=env, path=path, redact=redactor)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key{more}"
    if error["type"] == "missing":
        return f"{key}: required key is missing{more}"
    # Never echo the offending value: it may be a secret.
    return f"{key}: {error['msg']}{more}"
