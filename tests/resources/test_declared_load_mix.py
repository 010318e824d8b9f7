"""The Locust users' mix over the declared resources, against `rollout-gate local up`: one bounded run (20 s,
loopback) signed in with the declared provider, members from `api.tenant_users.csv` (no pool, no
database), gives measurements, and the app's own request counts show list/read/create on the declared paths
(projects by path, clients by header); what the users created is deleted by them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import psycopg

from rollout_gate.load import locustfile_path
from rollout_gate.load.runner import LoadSpec, run_load
from tests.cli.test_local_up import LocalUpProcess, _clean_env, up_dir  # noqa: F401
from tests.resources.local_up_declared import env_file, prepare_tenants


def _route_counts(base_url: str) -> dict[tuple[str, str], int]:
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    counts: dict[tuple[str, str], int] = {}
    for method, route, status, n in re.findall(
        r'^http_requests_total\{method="(\w+)",route="([^"]+)",status="(\d+)"\} (\d+)', text, re.M
    ):
        if status.startswith("2"):
            counts[(method, route)] = counts.get((method, route), 0) + int(n)
    return counts


def test_a_bounded_locust_run_loads_the_declared_resources(up_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    up = LocalUpProcess(up_dir)
    try:
        variables = up.read_variables()
        base_url = variables["ROLLOUT_LOCAL_BASE_URL"]
        users_csv = tmp_path / "tenant-users.csv"
        prepare_tenants(variables, users_csv)
        env = env_file(tmp_path / "project", users_csv)
        before = _route_counts(base_url)
        result = tmp_path / "load.json"
        spec = LoadSpec(locustfile=locustfile_path(), host=base_url, environment=str(env),
                        environments_dir=env.parent, result=result, users=3, spawn_rate=3, run_time_s=20,
                        max_requests=2000)  # fmt: skip
        environ = {k: v for k, v in _clean_env(**variables).items() if k != "ROLLOUT_LOAD_PASSWORD"}
        run = run_load(spec, password=None, environ=environ, cwd=tmp_path)
        assert run.problem is None, run.tail
        # The viewer of A only lists and reads (load.resource_mix.read_only_roles): no request of the mix failed.
        assert " 0(0.00%)" in next(line for line in run.output.splitlines() if "Aggregated" in line), run.tail
        after = _route_counts(base_url)
        measured = json.loads(result.read_text())["measurements"]
        assert measured and any(m.get("samples", 0) > 0 for m in measured), run.tail
        hits = {key: n - before.get(key, 0) for key, n in after.items() if n > before.get(key, 0)}
        projects, clients = "/api/organizations/{org_id}/projects", "/api/current-org/clients"
        declared = [("GET", projects), ("POST", projects), ("GET", projects + "/{record_id}"),
                    ("GET", clients), ("POST", clients), ("GET", clients + "/{record_id}")]  # fmt: skip
        for key in declared:
            assert hits.get(key, 0) > 0, f"no successful {key} in the run: {hits}"
        # Only the declared mix ran (no built-in reference tasks such as time entries or the dashboard feed).
        assert not [k for k in hits if "time-entries" in k[1] or "recent-entries" in k[1] or "config" in k[1]], hits
        with psycopg.connect(variables["ROLLOUT_LOCAL_DATABASE_URL"], connect_timeout=10) as conn:
            left = conn.execute(
                "select (select count(*) from public.projects where name like 'rg-test-load-%')"
                " + (select count(*) from public.clients where name like 'rg-test-load-%')"
            ).fetchone()
        assert left == (0,), "the virtual users delete what they created"
        assert up.terminate() == 0, up.stderr()
    finally:
        up.kill_leftovers()
