"""Environment files, shipped as `rollout_gate.environments`: the built-in `local` rehearsal and the templates `rollout-gate init` writes."""
