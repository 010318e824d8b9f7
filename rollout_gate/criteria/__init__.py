"""Go/no-go criteria: the shipped defaults, environment overrides, phase rules."""
