"""Package layout: the checks keep their places in the repository (suites/, fixtures/, load/, environments/)
and install under the `rollout_gate` namespace, so a team's repo gets them with the package, never a copy.
Metadata is in pyproject.toml; only the package list is computed here (setuptools cannot map and find at once).
"""

from setuptools import find_packages, setup

# installed name -> directory in this repository
MAPPED = {
    "rollout_gate.suites": "suites",
    "rollout_gate.fixtures": "fixtures",
    "rollout_gate.locustfiles": "load",
    "rollout_gate.environments": "environments",
}

packages = find_packages(include=["rollout_gate", "rollout_gate.*"])
for name, directory in MAPPED.items():
    packages += [name, *(f"{name}.{sub}" for sub in find_packages(directory))]

setup(packages=packages, package_dir=dict(MAPPED))
