"""Provisioning writes: where the environment forbids writes, the suites that provision are refused
before anything touches the target (here an unreachable one, so any attempt would error)."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.rehearsal import rehearse

PRODUCTION_LIKE = {
    "name": "production-like",
    "kind": "remote",
    "target": {
        "base_url": "http://127.0.0.1:9",
        "database_url": "postgresql://u:p@127.0.0.1:9/app",
        "connect_timeout": 1,
        "app": "reference",
    },
    "safety": {"allow_writes": False},
    "phases": {"enabled": ["post-deploy"]},
}


def test_provisioning_suites_are_refused_where_writes_are_forbidden(tmp_path: Path) -> None:
    env_file = tmp_path / "production-like.yaml"
    env_file.write_text(yaml.safe_dump(PRODUCTION_LIKE))
    run = rehearse(
        tmp_path / "reports",
        f"--env={env_file}",
        "suites/tenant_isolation/api/test_role_rules.py",
        "-rs",
    )
    summary = run.output.strip().splitlines()[-1]
    assert "error" not in summary and "failed" not in summary and "passed" not in summary, run.output[-2000:]
    # Refused before anything of them runs, and listed as not applicable there (the file forbids writes).
    why = "not applicable here: production-like forbids writes (safety.allow_writes: false); the check is destructive"
    assert run.criterion("role_rules")["reason"] == why, run.output[-2000:]
    assert run.verdict != "GO"  # nothing was verified: the gate must not say GO
