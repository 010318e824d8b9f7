"""`rollout-gate local up` with tenants A and B prepared as a team with externally managed users would have them
(a CSV `email,secret,tenant,role`), and `environments/examples/local-up.yaml` plus the declared resources."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import yaml

from tests.cli.test_local_up import CHECKS_TIMEOUT_S, EXAMPLE_ENV, LocalUpProcess, _clean_env

# Projects addressed by path, clients by the X-Organization-Id header (the reference app's header route).
API: dict[str, Any] = {
    "resources": [
        {
            "name": "projects",
            "list_path": "/api/organizations/{tenant}/projects",
            "item_path": "/api/organizations/{tenant}/projects/{id}",
            "create": {"name": "{marker}"},
            "update": {"name": "{marker}"},
            "list_query": {"limit": 500},
        },
        {
            "name": "clients",
            "list_path": "/api/current-org/clients",
            "item_path": "/api/current-org/clients/{id}",
            "create": {"name": "{marker}"},
            "update": {"name": "{marker}"},
            "list_query": {"limit": 500},
            "tenant": {"by": "header", "header": "X-Organization-Id"},
        },
    ],
    "role_rules": [
        {"role": "viewer", "method": "GET", "path": "/api/organizations/{tenant}/projects/{id}", "expect": [200],
         "resource": "projects"},
        {"role": "viewer", "method": "POST", "path": "/api/organizations/{tenant}/projects",
         "body": {"name": "{marker}"}, "expect": [403], "resource": "projects"},
        {"role": "viewer", "method": "PATCH", "path": "/api/organizations/{tenant}/projects/{id}",
         "body": {"name": "{marker}"}, "expect": [403], "resource": "projects"},
        {"role": "viewer", "method": "PATCH", "path": "/api/current-org/clients/{id}", "body": {"name": "{marker}"},
         "expect": [403], "resource": "clients"},
        {"role": "owner", "method": "PATCH", "path": "/api/organizations/{tenant}/projects/{id}",
         "body": {"name": "{marker}"}, "expect": [200], "resource": "projects"},
    ],
}  # fmt: skip


@dataclass
class Checked:
    code: int
    output: str
    gate: dict[str, Any]
    rows_of_the_run: int = 0

    @property
    def gate_text(self) -> str:
        return json.dumps(self.gate)

    def criterion(self, criterion_id: str) -> dict[str, Any]:
        return next(c for c in self.gate["criteria"] if c["id"] == criterion_id)


def prepare_tenants(variables: dict[str, str], csv_path: Path) -> dict[str, str]:
    """Organizations A (owner + viewer) and B (owner) of seeded users, written as the team's users CSV."""
    with Path(variables["ROLLOUT_LOCAL_USERS_CSV"]).open(newline="") as handle:
        seeded = [(r["email"], r["password"]) for r in csv.DictReader(handle)]
    (owner_a, pw_a), (owner_b, pw_b), (viewer, pw_v) = seeded[:3]
    orgs = {}
    with httpx.Client(base_url=variables["ROLLOUT_LOCAL_BASE_URL"], timeout=10) as http:
        for label, email, password in (("a", owner_a, pw_a), ("b", owner_b, pw_b)):
            token = http.post("/auth/sign-in", json={"email": email, "password": password}).json()["access_token"]
            made = http.post("/api/organizations", json={"name": f"rg-test-resources-{label}"},
                             headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            assert made.status_code == 201, made.text
            orgs[label] = str(made.json()["id"])
    with psycopg.connect(variables["ROLLOUT_LOCAL_DATABASE_URL"], connect_timeout=10) as conn:
        conn.execute(
            "insert into public.memberships (user_id, organization_id, role)"
            " select id, %s, 'viewer' from auth.users where email = %s",
            (orgs["a"], viewer),
        )
    with csv_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "secret", "tenant", "role"])
        writer.writerows([[owner_a, pw_a, orgs["a"], "owner"], [viewer, pw_v, orgs["a"], "viewer"],
                          [owner_b, pw_b, orgs["b"], "owner"]])  # fmt: skip
    return orgs


def existing_items(variables: dict[str, str], users_csv: Path) -> dict[str, str]:
    """A project and a client in A, made as A before the run (the data a production tenant already has)."""
    with users_csv.open(newline="") as handle:
        owner = next(csv.DictReader(handle))
    made = {}
    with httpx.Client(base_url=variables["ROLLOUT_LOCAL_BASE_URL"], timeout=10) as http:
        token = http.post("/auth/sign-in", json={"email": owner["email"], "password": owner["secret"]}).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        header = {"X-Organization-Id": owner["tenant"]}
        for name, path, extra in (("projects", f"/api/organizations/{owner['tenant']}/projects", {}),
                                  ("clients", "/api/current-org/clients", header)):  # fmt: skip
            response = http.post(path, json={"name": f"kept {name} of A"}, headers={**auth, **extra})
            assert response.status_code == 201, response.text
            made[name] = str(response.json()["id"])
    return made


def env_file(project: Path, users_csv: Path, *, writes: bool = True) -> Path:
    """The local-up example plus `api:` (resources, role rules, the users CSV); `writes` its safety.allow_writes."""
    env = yaml.safe_load(EXAMPLE_ENV.read_text())
    env["name"] = "local-up-declared"
    env["safety"]["allow_writes"] = writes
    env["api"] = {**API, "tenant_users": {"csv": str(users_csv)}}
    path = project / "environments" / "local-up-declared.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(env, sort_keys=False))
    return path


def check(up_dir: Path, tmp_path: Path, faults: str = "", *select: str, writes: bool = True) -> Checked:
    """Bring local up (with `faults`), prepare A and B, run the shipped checks with the declared env, stop.
    With `writes=False`, A's items exist beforehand and the env forbids writes."""
    up = LocalUpProcess(up_dir, env={"ROLLOUT_APP_FAULTS": faults} if faults else None)
    try:
        variables = up.read_variables()
        project = tmp_path / "project"
        project.mkdir()
        (project / "conftest.py").write_text('pytest_plugins = ["rollout_gate.pytest.checks"]\n')
        users_csv = tmp_path / "tenant-users.csv"
        prepare_tenants(variables, users_csv)
        if not writes:
            existing_items(variables, users_csv)
        reports = tmp_path / "reports"
        selection = select or ("-m", "smoke or isolation")
        argv = [sys.executable, "-m", "pytest", f"--env={env_file(project, users_csv, writes=writes)}", *selection,
                f"--report-dir={reports}", "-p", "no:cacheprovider", "-q"]  # fmt: skip
        result = subprocess.run(argv, cwd=project, env=_clean_env(**variables), capture_output=True, text=True,
                                timeout=CHECKS_TIMEOUT_S, check=False)  # fmt: skip
        assert up.terminate() == 0, up.stderr()
        return Checked(
            result.returncode, result.stdout + result.stderr, json.loads((reports / "gate.json").read_text())
        )
    finally:
        up.kill_leftovers()
