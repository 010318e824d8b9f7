from __future__ import annotations

from rollout_gate.errors import ConfigError

__all__ = ["ConfigError"]
