"""Find, read, expand and validate an environment file."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from rollout_gate.config.errors import ConfigError
from rollout_gate.config.expand import expand, referenced_variables
from rollout_gate.config.models import Environment
from rollout_gate.config.secrets import Redactor, redact_url
from rollout_gate.strict_yaml import KeyPath, YamlDocument, located, read_yaml, validation_message


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


# Environments that exist without a file in the project: `--env=local` rehearses anywhere.
BUILTIN_ENVIRONMENTS = ("local",)


def builtin_environments() -> dict[str, Path]:
    """name -> the environment file shipped with the package."""
    shipped = Path(str(resources.files("rollout_gate.environments")))
    return {name: shipped / f"{name}.yaml" for name in BUILTIN_ENVIRONMENTS}


def resolve_path(name_or_path: str, environments_dir: Path, builtin: Mapping[str, Path] | None = None) -> Path:
    """`staging` -> environments/staging.yaml; anything with a slash or a .yaml suffix is a path.
    A name the project has no file for may be a built-in environment (`local`, shipped with the package)."""
    if name_or_path.endswith((".yaml", ".yml")) or os.sep in name_or_path or "/" in name_or_path:
        path = Path(name_or_path)
        if not path.is_file():
            raise ConfigError(f"environment file {name_or_path} does not exist")
        return path
    path = environments_dir / f"{name_or_path}.yaml"
    builtin = builtin_environments() if builtin is None else builtin
    if not path.is_file() and name_or_path in builtin:
        return builtin[name_or_path]
    if not path.is_file():
        known = sorted(p.stem for p in environments_dir.glob("*.yaml")) if environments_dir.is_dir() else []
        hint = f" (known: {', '.join(known)})" if known else ""
        raise ConfigError(f"unknown environment {name_or_path!r}: no {environments_dir}/{name_or_path}.yaml{hint}")
    return path


def load_environment(path: Path, environ: Mapping[str, str] | None = None) -> LoadedEnvironment:
    environ = os.environ if environ is None else environ
    where = str(path)
    document = read_yaml(path)
    raw = document.data
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: the top level must be a mapping, not {type(raw).__name__}")
    raw.setdefault("name", path.stem)
    expanded = expand(raw, environ, where=where)
    try:
        env = Environment.model_validate(expanded)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, where, document)) from None
    _refuse_non_finite(env, (), where, document)
    redactor = Redactor.for_model(env, environ, referenced_variables(raw))
    return LoadedEnvironment(env=env, path=path, redact=redactor)


def _refuse_non_finite(value: Any, loc: KeyPath, where: str, document: YamlDocument) -> None:
    """No setting of an environment means anything at infinity or NaN (timeouts, bounds, thresholds, rates).

    PyYAML reads `.inf`/`.nan` as floats and pydantic turns the strings `1e999`, `inf` and `nan` (also
    from `${VAR}`) into them; a limit of infinity passes every value, NaN compares false with everything.
    """
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"{located(where, document, loc)}: {value} is not a finite number; write a number")
    elif isinstance(value, BaseModel):
        for name, info in type(value).model_fields.items():
            _refuse_non_finite(getattr(value, name), (*loc, info.alias or name), where, document)
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_non_finite(item, (*loc, str(key)), where, document)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _refuse_non_finite(item, (*loc, index), where, document)
