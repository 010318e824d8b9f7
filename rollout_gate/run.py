"""Identity of one harness run, shared by the controller and its xdist workers."""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class RunContext:
    run_id: str
    owner_pid: int
    worker_id: str = "main"

    @classmethod
    def new(cls) -> RunContext:
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
        return cls(run_id=f"{stamp}-{secrets.token_hex(3)}", owner_pid=os.getpid())

    @property
    def prefix(self) -> str:
        """Prefix of everything a run provisions on a target, e.g. `rg-test-20261123041200-ab12cd-gw0-`."""
        return f"rg-test-{self.run_id}-{self.worker_id}-"

    @property
    def is_worker(self) -> bool:
        return self.worker_id != "main"
