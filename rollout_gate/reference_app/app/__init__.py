"""The reference app's HTTP layer: a Starlette app in front of the v2 (multi-tenant) schema.

`python -m rollout_gate.reference_app.app --fd N` serves it with uvicorn on an inherited listening socket;
the local target starts it that way (see `rollout_gate.local.reference_app`).
"""

from __future__ import annotations
