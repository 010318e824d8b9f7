"""Post-rollback, for real: the schema is compared with the pre-deploy snapshot, and the old version serves.

Real rehearsals of the post-rollback phase (seed, baseline, migrate, deploy v2, roll back, serve v1) with
the reference sets, and with defective sets built from them (tests/rollback/data, symlinks).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.rehearsal import ROOT, Rehearsal, rehearse

DATA = Path(__file__).parent / "data"
SCHEMA_TEST = "test_rolled_back_schema_matches_the_pre_deploy_snapshot"
POST_ROLLBACK = ("rollback_restores_v1", "rollback_restores_schema", "rollback_app_serves")


def post_rollback(tmp_path: Path, name: str | None = None, *, migrations: bool = False) -> Rehearsal:
    data = DATA / name if name else None
    return rehearse(
        tmp_path / "reports", "--phase=post-rollback", "-rfEs",
        migrations=data / "migrations" if data and migrations else None,
        rollback=data / "rollback" if data else None,
    )  # fmt: skip


def failure_lines(run: Rehearsal, test: str) -> str:
    start = run.output.find(f" {test} _")
    assert start >= 0, f"no failure section for {test}:\n{run.output}"
    end = run.output.find("\n___", start + 1)
    return run.output[start : end if end > 0 else len(run.output)]


def test_clean_rollback_is_go_with_the_v1_app_serving(tmp_path: Path) -> None:
    run = post_rollback(tmp_path)
    assert run.returncode == 0, run.output
    assert run.verdict == "GO", run.output
    statuses = {c: run.criterion(c)["status"] for c in POST_ROLLBACK}
    assert statuses == dict.fromkeys(POST_ROLLBACK, "pass"), run.output
    serving = run.criterion("rollback_app_serves")
    tests = serving["tests"]
    assert "suites/rollback/test_reference_v1_app.py::test_pre_migration_users_see_their_data" in tests, serving
    assert any("test_declared_old_version_endpoint[v1-my-projects]" in t for t in tests), serving
    assert serving["samples"] == len(tests), serving  # every one ran: nothing skipped into a pass
    # The old version that answered is the v1 app the local target started after the rollback.
    logs = list((tmp_path / "reports" / "logs").glob("app-v1-*.log"))
    assert logs, list((tmp_path / "reports" / "logs").iterdir())
    baseline = json.loads((tmp_path / "reports" / "baseline.json").read_text())
    assert baseline["schema"]["objects"]["policy"], "the baseline holds no policies"
    assert {u["tables"]["public.clients"] for u in baseline["users"]["users"].values()} - {0}, baseline["users"]


def test_a_policy_the_rollback_leaves_behind_is_named(tmp_path: Path) -> None:
    run = post_rollback(tmp_path, "policy_left_behind", migrations=True)
    assert run.returncode != 0 and run.verdict == "NO_GO", run.output
    assert run.criterion("rollback_restores_schema")["status"] == "fail", run.output
    failure = failure_lines(run, SCHEMA_TEST)
    assert "policy public.profiles.profiles_select_support: left behind" in failure, failure
    assert "1 finding(s)" in failure, failure
    # The data is intact and the old version serves: only the schema check catches it.
    assert run.criterion("rollback_restores_v1")["status"] == "pass", run.output
    assert run.criterion("rollback_app_serves")["status"] == "pass", run.output


def test_a_v1_column_the_rollback_drops_is_named(tmp_path: Path) -> None:
    run = post_rollback(tmp_path, "rollback_drops_column")
    assert run.returncode != 0 and run.verdict == "NO_GO", run.output
    assert run.criterion("rollback_restores_schema")["status"] == "fail", run.output
    failure = failure_lines(run, SCHEMA_TEST)
    assert "column public.clients.email: missing" in failure, failure
    assert "Traceback" not in run.output, run.output


def test_a_v1_policy_the_rollback_does_not_restore_hides_users_data_in_the_old_version(tmp_path: Path) -> None:
    run = post_rollback(tmp_path, "rollback_loses_v1_policy")
    assert run.returncode != 0 and run.verdict == "NO_GO", run.output
    assert "policy public.clients.clients_select_own: missing" in failure_lines(run, SCHEMA_TEST), run.output
    # No row is lost, yet the old version shows its owners none of their clients (RLS hides them).
    assert run.criterion("rollback_restores_v1")["status"] == "pass", run.output
    assert run.criterion("rollback_app_serves")["status"] == "fail", run.output
    failure = failure_lines(run, "test_pre_migration_users_see_their_data")
    assert re.search(r"user\d+@example\.test: /api/clients lists 0 row\(s\), the baseline [1-9]", failure), failure


def test_the_defective_sets_are_the_reference_sets_plus_one_file() -> None:
    """The proofs above rehearse exactly one defect each."""
    reference = ROOT / "rollout_gate" / "reference_app"
    for name, kind, extra in (
        ("policy_left_behind", "migrations", "0005_support_read_profiles.sql"),
        ("rollback_drops_column", "rollback", "0004_drop_client_email.sql"),
        ("rollback_loses_v1_policy", "rollback", "0004_drop_clients_select_own.sql"),
    ):
        files = sorted(p.name for p in (DATA / name / kind).iterdir())
        assert files == sorted([*(p.name for p in (reference / kind).glob("*.sql")), extra]), (name, files)
        links = [p for p in (DATA / name / kind).iterdir() if p.name != extra]
        assert all(p.is_symlink() and p.resolve().parent == (reference / kind).resolve() for p in links), name
