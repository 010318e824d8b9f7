"""Smoke endpoints declared in an environment file run against the app, and a failing one is reported clearly."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.rehearsal import ROOT, rehearse

FAILING = [
    {"name": "missing-endpoint", "path": "/api/no-such-endpoint", "expect": {"status": 200}},
    {"name": "wrong-field", "path": "/health", "expect": {"status": 200, "json": {"status": "degraded"}}},
]


def test_declared_endpoints_pass_and_a_failing_one_names_what_is_wrong(tmp_path: Path) -> None:
    env = yaml.safe_load((ROOT / "environments" / "local.yaml").read_text())
    declared = env["smoke"]["endpoints"]
    env["smoke"]["endpoints"] = declared + FAILING
    env_file = tmp_path / "local-with-failing-smoke.yaml"
    env_file.write_text(yaml.safe_dump(env, sort_keys=False))

    suite = "suites/smoke/test_declared_endpoints.py"
    run = rehearse(tmp_path / "reports", f"--env={env_file}", "--phase=post-deploy", suite)

    assert run.verdict == "NO_GO", run.output[-2000:]
    smoke = run.criterion("smoke")
    assert smoke["status"] == "fail" and "missing-endpoint" in smoke["reason"], smoke
    assert f"FAILED {suite}::test_declared_endpoint[missing-endpoint]" in run.output
    assert "missing-endpoint: expected status 200, got GET /api/no-such-endpoint -> 404" in run.output
    assert "wrong-field: JSON field 'status' is 'ok', expected 'degraded'" in run.output
    assert f"2 failed, {len(declared)} passed" in run.output  # the declared ones still pass
