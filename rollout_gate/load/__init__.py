"""Load runs: what a Locust run observed, in the form the gate judges."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def locustfile_path() -> Path:
    """The harness's Locust entry point, shipped with the package (`load/locustfile.py` in its repository)."""
    return Path(str(resources.files("rollout_gate.locustfiles").joinpath("locustfile.py")))
