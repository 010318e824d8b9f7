"""Probe judging on hand-made attempts, no database: (control, attempt[, stored row]) -> status and detail."""

from __future__ import annotations

import pytest

from rollout_gate.catalog.names import qualify
from rollout_gate.isolation import judge
from rollout_gate.isolation.results import (
    INCONCLUSIVE,
    LEAK,
    OK,
    READ_OPS,
    SPOOF_OPS,
    WRITE_OPS,
    Attempt,
    ProbeResult,
    ProbeRun,
)
from rollout_gate.isolation.rowgen import RowPlan, _value_for

TOUCHED, NONE = Attempt(1), Attempt(0)
DENIED = Attempt(None, "42501", 'new row violates row-level security policy for table "t"')
CHECK = Attempt(None, "23514", 'new row for relation "t" violates check constraint "t_slug"')
B, OUTSIDER, ME = "tenant-b", "user-x", "user-me"


def test_a_member_seeing_another_tenants_rows_leaks() -> None:
    verdict = judge.read(sees_own=True, leaked=[B, "tenant-c"], leaked_rows=7, other=B)
    assert verdict.status == LEAK and "saw 7 row(s) of other tenants (e.g. tenant-b, tenant-c)" in verdict.detail


def test_a_read_is_proven_only_by_its_positive_control() -> None:
    assert judge.read(sees_own=True, leaked=[], leaked_rows=0, other=B).status == OK
    failed = judge.read(sees_own=False, leaked=[], leaked_rows=0, other=B)
    assert failed.status == INCONCLUSIVE and "positive control failed" in failed.detail
    assert judge.read(sees_own=True, leaked=[], leaked_rows=0, other=None).status == INCONCLUSIVE


def test_a_denied_read_is_settled_only_by_the_grants() -> None:
    assert judge.read_denied(DENIED, granted=False, role="authenticated").status == OK
    assert judge.read_denied(DENIED, granted=True, role="authenticated").status == INCONCLUSIVE


@pytest.mark.parametrize("op", ["update", "delete", "insert", "move"])
def test_a_write_that_reached_the_other_tenant_leaks(op: str) -> None:
    assert judge.write(op, TOUCHED, TOUCHED, B).status == LEAK
    # Even when its own control failed: a leak is a leak.
    assert judge.write(op, DENIED, TOUCHED, B).status == LEAK


def test_a_rejected_write_is_conclusive_only_with_a_passing_control() -> None:
    assert judge.write("update", TOUCHED, NONE, B) == judge.Judgement(OK, "touched 0 rows")
    assert judge.write("insert", TOUCHED, DENIED, B).status == OK
    failed = judge.write("insert", CHECK, DENIED, B)
    assert failed.status == INCONCLUSIVE and "positive control failed" in failed.detail and "23514" in failed.detail


def test_an_insert_or_move_is_judged_by_the_tenant_key_the_target_stored() -> None:
    # A trigger that re-keyed the row to the member's own tenant kept it in.
    kept = judge.write("insert", TOUCHED, Attempt(1, stored=("tenant-a",)), B)
    assert kept.status == OK and "stored tenant tenant-a, not tenant-b" in kept.detail
    assert judge.write("move", TOUCHED, Attempt(1, stored=(B,)), B).status == LEAK
    # Not read back (no primary key to find it by): the row count decides, failing closed.
    assert judge.write("move", TOUCHED, Attempt(1, stored=None), B).status == LEAK


def test_a_spoof_overwritten_by_a_trigger_is_no_leak() -> None:
    verdict = judge.spoof("spoof_insert", "created_by", TOUCHED, Attempt(1, stored=(ME,)), OUTSIDER)
    assert verdict.status == OK
    assert "the target stored created_by = user-me (a trigger or default overwrote it)" in verdict.detail
    cleared = judge.spoof("spoof_update", "invited_by", TOUCHED, Attempt(1, stored=(None,)), OUTSIDER)
    assert cleared.status == OK and "invited_by = NULL" in cleared.detail


def test_a_spoof_the_target_stored_leaks() -> None:
    stored = judge.spoof("spoof_insert", "created_by", TOUCHED, Attempt(1, stored=(OUTSIDER,)), OUTSIDER)
    assert stored == judge.Judgement(LEAK, "wrote a row with created_by = another user (user-x)")
    unread = judge.spoof("spoof_update", "owner_id", TOUCHED, Attempt(1), OUTSIDER)
    assert unread.status == LEAK and "could not be read back" in unread.detail


def test_a_rejected_spoof_needs_its_control() -> None:
    assert judge.spoof("spoof_insert", "created_by", TOUCHED, DENIED, OUTSIDER).status == OK
    failed = judge.spoof("spoof_insert", "created_by", CHECK, DENIED, OUTSIDER)
    assert failed.status == INCONCLUSIVE and failed.detail.startswith("created_by: positive control failed")


def test_blind_replays() -> None:
    leak = judge.blind("UPDATE", "org_id", own=2, other=3, other_tenant=B)
    assert leak.status == LEAK and "would reach 3 sampled row(s) of tenant tenant-b" in leak.detail
    assert "SET org_id = <own tenant>" in leak.detail
    assert judge.blind("DELETE", "org_id", own=0, other=0, other_tenant=B).status == INCONCLUSIVE
    assert judge.blind("DELETE", "org_id", own=2, other=0, other_tenant=B).status == OK


def test_anonymous_probes() -> None:
    assert judge.anon_read(3).status == LEAK and judge.anon_read(0).status == OK
    assert judge.anon_read(DENIED).status == OK
    assert judge.anon_write("anon_insert", TOUCHED) == judge.Judgement(LEAK, "wrote a row")
    assert judge.anon_write("anon_delete", NONE).status == OK


def test_constraint_errors_are_told_apart_from_policy_rejections() -> None:
    assert CHECK.constraint_error and Attempt(None, "22P02", "bad uuid").constraint_error
    assert not DENIED.constraint_error and not NONE.constraint_error


def _result(op: str, table: str, status: str, detail: str = "d", column: str | None = None) -> ProbeResult:
    return ProbeResult(op, table, "member of A", B, status, detail, column=column)


def test_a_table_and_operation_no_probe_proved_is_a_gap_by_name() -> None:
    run = ProbeRun(expected={("public.t", "select"), ("public.u", "select"), ("public.v", "insert")})
    run.results = [
        _result("select", "public.t", INCONCLUSIVE, "the member's tenant has no rows here"),
        _result("select", "public.t", INCONCLUSIVE, "no other tenant has rows here"),
        _result("select", "public.u", INCONCLUSIVE),
        _result("select", "public.u", OK),
    ]
    assert run.gaps(READ_OPS) == [
        "public.t: SELECT: not proved (no other tenant has rows here; the member's tenant has no rows here)"
    ]
    assert run.gaps(WRITE_OPS) == ["public.v: INSERT: not probed"]
    verdict = run.verdict(READ_OPS)
    assert verdict.gaps and "1 coverage gap(s)" in verdict.why_inconclusive()


def test_a_leak_proves_its_table_and_spoofs_count_per_column() -> None:
    run = ProbeRun()
    run.results = [
        _result("spoof_insert", "public.t", LEAK, column="created_by"),
        _result("spoof_insert", "public.t", INCONCLUSIVE, "cannot build a row: x", column="owner_id"),
    ]
    assert run.gaps(SPOOF_OPS) == ["public.t: SPOOF_INSERT of owner_id: not proved (cannot build a row: x)"]


def test_without_a_member_read_reaching_its_control_nothing_is_proven() -> None:
    run = ProbeRun()
    run.results = [_result("select", "public.t", INCONCLUSIVE, "probe denied: rejected (22023: exp claim missing)")]
    line = run.why_no_read_control()
    assert line is not None and "\n" not in line
    assert "no member read probe reached its positive control" in line and "exp claim missing" in line
    run.read_controls = 1
    assert run.why_no_read_control() is None


def test_results_name_the_probe_rows_by_key_only() -> None:
    result = ProbeResult("update", "public.t", "member of A", B, LEAK, "changed 1 row(s)", keys=("id=7",))
    assert str(result) == "public.t: UPDATE as member of A against tenant tenant-b: changed 1 row(s) [rows id=7]"
    plan = RowPlan(
        qualify("public.t"), {"id": 7, "org": "a", "secret": "s"}, ["id", "org", "secret"], (("id", "bigint"),)
    )
    assert plan.keys == ("id=7",)
    assert plan.with_value("org", "b").keys == ("id=7",) and plan.locate() is not None
    assert RowPlan(qualify("public.t"), {"a": 1}).locate() is None


def test_values_for_an_empty_table_respect_its_checks_and_enums() -> None:
    check = "CHECK ((role = ANY (ARRAY['admin'::text, 'member'::text])))"
    assert _value_for("text", "role", [], [check]) == "admin"
    assert _value_for("app_role", "role", ["owner", "viewer"], []) == "owner"
    assert _value_for("text", "email", [], []).endswith("@example.invalid")
    assert _value_for("boolean", "flag", [], []) is False
