"""The verdict rule and the exit codes, on criterion results alone."""

from __future__ import annotations

import pytest

from rollout_gate.criteria.models import Action
from rollout_gate.gate.verdict import EXIT_CODES, CriterionResult, Status, Verdict, decide


def result(status: str, action: str = "no_go", required: bool = True, cid: str = "c") -> CriterionResult:
    return CriterionResult(id=cid, title=cid, status=Status(status), action=Action(action), required=required)


def test_exit_codes() -> None:
    assert EXIT_CODES == {Verdict.GO: 0, Verdict.NO_GO: 1, Verdict.ROLLBACK: 10, Verdict.INCONCLUSIVE: 11}


@pytest.mark.parametrize(
    ("results", "verdict"),
    [
        ([result("pass")], Verdict.GO),
        ([result("pass"), result("warn", cid="w")], Verdict.GO),
        ([result("fail", "warn")], Verdict.GO),  # a failing warn criterion warns
        ([result("error", "warn")], Verdict.GO),
        ([result("inconclusive", "warn")], Verdict.GO),
        ([result("inconclusive", required=False)], Verdict.GO),
        ([result("fail")], Verdict.NO_GO),
        ([result("error")], Verdict.NO_GO),
        ([result("error", "rollback")], Verdict.NO_GO),  # could not tell: block, do not roll back
        ([result("inconclusive")], Verdict.INCONCLUSIVE),
        ([result("inconclusive", "rollback")], Verdict.INCONCLUSIVE),
        ([result("inconclusive"), result("fail", cid="f")], Verdict.NO_GO),
        ([result("fail", "rollback"), result("fail", cid="f")], Verdict.ROLLBACK),
        ([result("fail", "rollback", required=False)], Verdict.ROLLBACK),  # a failure always counts
    ],
)
def test_verdict_rule(results: list[CriterionResult], verdict: Verdict) -> None:
    assert decide(results).verdict == verdict


def test_nothing_verified_and_harness_errors_are_never_go() -> None:
    assert decide([result("pass")], nothing_verified="no test ran").verdict == Verdict.INCONCLUSIVE
    decision = decide([result("pass")], harness_errors=["target unreachable: db:5432"])
    assert decision.verdict == Verdict.NO_GO
    assert decision.reasons == ["harness: target unreachable: db:5432"]
    assert decide([], nothing_verified="no test ran").exit_code == 11


def test_reasons_and_warnings_name_the_criteria() -> None:
    decision = decide([result("fail", cid="loss"), result("warn", cid="p95"), result("pass", cid="smoke")])
    assert decision.reasons == ["loss: fail (no_go): "]
    assert decision.warnings == ["p95: warn: "]
