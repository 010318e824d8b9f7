"""Run the real local rehearsal (`pytest --env=local`) in a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# Small but non-trivial data: enough rows per tenant for every probe, fast to seed.
SMALL_SCALE = {"ROLLOUT_SCALE_USERS": "40", "ROLLOUT_SCALE_ROWS": "4000"}


@dataclass
class Rehearsal:
    returncode: int
    output: str
    report_dir: Path

    @property
    def gate(self) -> dict[str, Any]:
        return json.loads((self.report_dir / "gate.json").read_text())

    @property
    def verdict(self) -> str:
        return str(self.gate["verdict"])

    def criterion(self, criterion_id: str) -> dict[str, Any]:
        return next(c for c in self.gate["criteria"] if c["id"] == criterion_id)


def rehearse(
    report_dir: Path,
    *args: str,
    migrations: Path | None = None,
    rollback: Path | None = None,
    extra_env: dict[str, str] | None = None,
    timeout: float = 600,
) -> Rehearsal:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLOUT_", "PYTEST_"))}
    env.update(SMALL_SCALE)
    if migrations is not None:
        env["ROLLOUT_MIGRATIONS_DIR"] = str(migrations)
    if rollback is not None:
        env["ROLLOUT_ROLLBACK_DIR"] = str(rollback)
    env.update(extra_env or {})
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "--env=local",
        f"--report-dir={report_dir}",
        "-p",
        "no:cacheprovider",
        *args,
    ]
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    return Rehearsal(proc.returncode, proc.stdout + proc.stderr, report_dir)
