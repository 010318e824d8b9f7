"""The verification suites, by phase; shipped as `rollout_gate.suites` (collected by `rollout_gate.checks`)."""
