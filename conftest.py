"""Root conftest of this repository. The rollout plugin and its fixtures load through the package's entry
point (`pytest11: rollout_gate`); `testpaths` (suites/) are the shipped checks themselves, so this repository
needs no `pytest_plugins = ["rollout_gate.pytest.checks"]` line, which a team's repo has."""
