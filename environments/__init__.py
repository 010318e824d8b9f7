"""Environment files, shipped as `rollout_gate.environments`: the built-in `local` rehearsal, the templates
`rollout-gate init` writes, and `examples/`."""
