"""Probe families: one module per kind of attempt, each with `probe(ctx)` (see rollout_gate/isolation/runner.py)."""
