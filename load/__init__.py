"""The Locust entry point, shipped as `rollout_gate.locustfiles` (`rollout-gate locustfile` prints its path)."""
