"""rollout-gate: verify a single-tenant to multi-tenant rollout and decide GO / NO-GO / ROLLBACK."""

__version__ = "0.1.0"
