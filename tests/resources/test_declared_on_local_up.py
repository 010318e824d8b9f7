"""Declared resources and role rules against `rollout-gate local up`: projects addressed by path and clients by
the X-Organization-Id header, users of two organizations from a CSV. Clean is GO with every other shipped
check; each app fault is NO_GO from the declared checks alone (`-k declared`), naming resource and attempt."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_local_up import up_dir  # noqa: F401
from tests.resources.local_up_declared import check

DECLARED = ("-m", "isolation", "-k", "declared")


def test_declared_resources_and_role_rules_are_go_on_the_clean_reference_app(up_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    checked = check(up_dir, tmp_path)
    assert checked.code == 0 and checked.gate["verdict"] == "GO", checked.output[-3000:]
    tests = {c: checked.criterion(c)["tests"] for c in ("zero_cross_tenant_access", "role_rules")}
    declared = [t for t in tests["zero_cross_tenant_access"] if "test_declared_resource" in t]
    # Both resources, every attempt their addressing allows (path spoof for projects, header spoof for clients).
    for attempt in ("read", "list", "update", "create_into_a", "delete"):
        assert any(f"[projects-{attempt}]" in t for t in declared) and any(
            f"[clients-{attempt}]" in t for t in declared
        )
    assert any("[projects-path_spoof]" in t for t in declared) and any("[clients-header_spoof]" in t for t in declared)
    assert len([t for t in tests["role_rules"] if "test_declared_role_rule" in t]) == 5
    assert "not applicable here (api.resources." in checked.criterion("zero_cross_tenant_access")["observed"]
    assert " passed" in checked.output and "FAILED" not in checked.output
    assert checked.rows_of_the_run == 0, "the probes delete, as A, every item they created"


def test_where_writes_are_forbidden_only_read_probes_run_and_nothing_is_written(up_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    checked = check(up_dir, tmp_path, writes=False)
    assert checked.code == 0 and checked.gate["verdict"] == "GO", checked.output[-3000:]
    isolation = checked.criterion("zero_cross_tenant_access")
    assert isolation["status"] == "pass", isolation
    # Found items of A are probed by read, list, header/path spoof; the writes are listed, because the env says so.
    # The six read-type attempts (projects read/list/path_spoof, clients read/list/header_spoof) are what ran.
    assert isolation["samples"] == 6, isolation
    assert "not applicable here (local-up-declared forbids writes (safety.allow_writes: false)" in isolation["observed"]
    listed = [t for t in isolation["tests"] if "test_declared_resource" in t]
    for attempt in ("read", "list", "update", "create_into_a", "delete"):
        assert any(f"[projects-{attempt}]" in t for t in listed) and any(f"[clients-{attempt}]" in t for t in listed)
    assert checked.rows_of_the_run == 0


def test_skip_project_authz_is_no_go_on_the_declared_project_probes(up_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    checked = check(up_dir, tmp_path, "skip_project_authz", *DECLARED)
    assert checked.code == 1 and checked.gate["verdict"] == "NO_GO", checked.output[-3000:]
    assert checked.criterion("zero_cross_tenant_access")["status"] == "fail"
    assert "projects: read (GET /api/organizations/{tenant}/projects/{id}): answered 200" in checked.output
    assert "FAILED tenant_isolation/api/test_declared_resources.py::" in checked.output
    # Only the broken resource and attempts fail: clients and the writes hold.
    failed = [line for line in checked.output.splitlines() if line.startswith("FAILED")]
    assert failed and all("[projects-read]" in f or "[projects-path_spoof]" in f for f in failed), failed
    # The declared role rules hold (inconclusive only because `-k` left the reference rules out).
    assert checked.criterion("role_rules")["status"] == "inconclusive"


def test_viewer_can_write_is_no_go_on_the_declared_role_rules(up_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    checked = check(up_dir, tmp_path, "viewer_can_write", *DECLARED)
    assert checked.code == 1 and checked.gate["verdict"] == "NO_GO", checked.output[-3000:]
    assert checked.criterion("role_rules")["status"] == "fail"
    # The declared resource probes hold (inconclusive only because `-k` left the reference probes out).
    assert checked.criterion("zero_cross_tenant_access")["status"] == "inconclusive"
    failed = [line for line in checked.output.splitlines() if line.startswith("FAILED")]
    assert failed and all("test_declared_role_rules.py::" in f for f in failed), failed
    # RLS still refuses: the app answers 500 instead of 403, and nothing is stored.
    assert "role rule viewer POST /api/organizations/{tenant}/projects: answered 500, expected 403" in checked.output
    assert "but stored" not in checked.output and "item changed" not in checked.output
