"""What was collected and what was selected, so a criterion can tell "deselected" from "never collected".

Every process that collects (the only process without xdist, each worker with
it) snapshots the rollout tests before any deselection and marks the ones left
after it. Workers send their ledger to the controller through `workeroutput`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Why a collected test did not run: the environment/phase selection, or the user's -m/-k/args.
BY_ENVIRONMENT = "environment"
BY_USER = "user"


@dataclass
class CollectedTest:
    nodeid: str
    phase: str | None
    criteria: list[str]
    suites: list[str]
    selected: bool = False
    # BY_ENVIRONMENT or BY_USER when not selected.
    deselected_by: str | None = None
    # What the environment file says that keeps it out (writes forbidden, nothing declared...).
    excluded_why: str = ""


@dataclass
class Ledger:
    tests: dict[str, CollectedTest] = field(default_factory=dict)
    # The user narrowed the run (-m, -k, --deselect, --lf, test paths on the command line).
    selection_given: bool = False

    def to_json(self) -> list[dict[str, Any]]:
        return [asdict(t) for t in self.tests.values()]

    def merge(self, tests: list[dict[str, Any]]) -> None:
        """Add a worker's ledger: every worker collects the same tests, so a test selected anywhere is selected."""
        for data in tests:
            test = CollectedTest(**data)
            known = self.tests.get(test.nodeid)
            if known is None or (test.selected and not known.selected):
                self.tests[test.nodeid] = test
