"""The lints in a real rehearsal: a blocking one fails its criterion, the review ones warn without blocking, and
gate.json names what each found (the clean reference raises none: tests/integrity/test_clean_reference.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.defects.catalogue import DEFECTS_DIR
from tests.defects.rehearse import rehearse_post_migration

REVIEWS = {
    "rls_definer_search_path": {("function", "public.display_name(p_user uuid)"), ("role", "anon")},
    "rls_tables_without_policies": {("table", "public.audit_events"), ("role", "authenticated")},
    "rls_public_policies": {("table", "public.time_entries"), ("policy", "time_entries_any_role"), ("role", "anon")},
}


def _named(criterion: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["kind"], f["name"]) for f in criterion["findings"]}


def test_lint_reviews_warn_without_blocking_and_name_their_objects(tmp_path: Path) -> None:
    run = rehearse_post_migration(tmp_path / "reports", "isolation", DEFECTS_DIR / "lint_reviews")
    assert run.verdict == "GO" and run.returncode == 0, run.output
    for criterion, objects in REVIEWS.items():
        entry = run.criterion(criterion)
        assert entry["status"] == "warn", (criterion, run.output)
        assert objects <= _named(entry), (criterion, entry["findings"])
    for criterion in ("rls_coverage", "rls_user_metadata", "zero_cross_tenant_access"):
        assert run.criterion(criterion)["status"] == "pass", (criterion, run.output)
    md = (tmp_path / "reports" / "gate.md").read_text()
    assert "- **rls_public_policies** (warn)" in md and "policy `time_entries_any_role`" in md, md


def test_a_policy_trusting_user_metadata_names_table_policy_and_function_in_gate_json(tmp_path: Path) -> None:
    run = rehearse_post_migration(tmp_path / "reports", "isolation", DEFECTS_DIR / "user_metadata_policy")
    assert run.verdict == "NO_GO", run.output
    entry = run.criterion("rls_user_metadata")
    assert entry["status"] == "fail", run.output
    assert _named(entry) == {
        ("table", "public.clients"),
        ("policy", "clients_claimed_org"),
        ("function", "public.claimed_org()"),
    }
    assert {f["rule"] for f in entry["findings"]} == {"user_metadata_policy"}
