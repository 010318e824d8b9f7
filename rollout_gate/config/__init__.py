"""Environment files: typed models, `${VAR}` expansion, secret redaction."""

from rollout_gate.config.errors import ConfigError
from rollout_gate.config.loader import LoadedEnvironment, load_environment, resolve_path
from rollout_gate.config.models import Environment
from rollout_gate.config.secrets import Redactor, redact_url

__all__ = [
    "ConfigError",
    "Environment",
    "LoadedEnvironment",
    "Redactor",
    "load_environment",
    "redact_url",
    "resolve_path",
]
