"""`e2e.routes` on the reference app (the local rehearsal declares /dashboard, /orgs/new and /sign-in):
clean, both route criteria pass; `slow_dashboard` (+3.5 s server-side) fails page_load_time naming the
route and the measured time, and only that; `dashboard_broken` (500) fails browser_errors, and only that."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.rehearsal import rehearse

pytest.importorskip("playwright")

ROUTES = "suites/e2e/test_routes.py"


@pytest.mark.parametrize("fault", ["", "slow_dashboard", "dashboard_broken"], ids=lambda f: f or "clean")
def test_reference_routes(fault: str, tmp_path: Path) -> None:
    run = rehearse(tmp_path / "reports", "--phase=post-deploy", ROUTES, extra_env={"ROLLOUT_APP_FAULTS": fault})
    load, errors = run.criterion("page_load_time"), run.criterion("browser_errors")
    assert len(load["tests"]) == len(errors["tests"]) == 3, run.output[-3000:]
    if not fault:
        assert run.verdict == "GO", run.output[-3000:]
        assert load["status"] == errors["status"] == "pass", run.output[-3000:]
        return
    assert run.verdict == "NO_GO", run.output[-3000:]
    if fault == "slow_dashboard":
        assert errors["status"] == "pass", run.output[-3000:]
        assert load["status"] == "fail", run.output[-3000:]
        measured = re.search(r"route dashboard \(/dashboard\): page load (\d+) ms, budget < 3000 ms", load["reason"])
        assert measured and 3500 <= int(measured.group(1)) < 10_000, load["reason"]
    else:
        assert load["status"] == "pass", run.output[-3000:]
        assert errors["status"] == "fail", run.output[-3000:]
        assert "route dashboard (/dashboard): " in errors["reason"] and "500 GET http" in errors["reason"], errors
        assert "new-organization" not in errors["reason"] and "sign-in" not in errors["reason"]
