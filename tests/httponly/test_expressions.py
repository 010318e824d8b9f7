"""`invariants.http` expressions: a tiny grammar read without eval; missing or non-numeric fields are unknown."""

from __future__ import annotations

import pytest

from rollout_gate.invariants_http.check import judge
from rollout_gate.invariants_http.config import InvariantEndpoint
from rollout_gate.invariants_http.expr import ExpressionError, Unknown, parse


@pytest.mark.parametrize(
    ("text", "values", "holds"),
    [
        ("organizations == users_signed_in", {"organizations": 3, "users_signed_in": 3}, True),
        ("organizations == users_signed_in", {"organizations": 2, "users_signed_in": 3}, False),
        ("memberships >= organizations", {"memberships": 5, "organizations": 3}, True),
        ("memberships >= organizations", {"memberships": 2, "organizations": 3}, False),
        ("a + b - 1 == c", {"a": 2, "b": 3, "c": 4}, True),
        ("a - (b + 1) < 0", {"a": 2, "b": 3}, True),
        ("-a + 5 > 0", {"a": 3}, True),
        ("a != 0", {"a": 0}, False),
        ("a <= 2", {"a": 2.5}, False),
        ("counts.orgs == counts.users", {"counts": {"orgs": 7, "users": 7}}, True),
    ],
)
def test_comparisons_hold_only_when_true(text: str, values: dict, holds: bool) -> None:
    assert parse(text).evaluate(values).holds is holds


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true') == 0",  # no calls, no strings: never eval
        "a == b == c",
        "a",
        "a ** 2 == 4",
        "a == ",
        "(a == b",
        "a.b. == 1",
        "a = b",
        "",
        "1.5 == a",
    ],
)
def test_anything_outside_the_grammar_is_refused(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse(text)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"organizations": 3}, "field users is missing"),
        ({"organizations": 3, "users": "3"}, "field users is not a number"),
        ({"organizations": 3, "users": None}, "field users is not a number"),
        ({"organizations": 3, "users": True}, "field users is not a number"),
        ({"organizations": 3, "users": float("nan")}, "field users is not a number"),
    ],
)
def test_a_missing_or_non_numeric_field_is_unknown_naming_it(values: dict, named: str) -> None:
    with pytest.raises(Unknown, match=named):
        parse("organizations == users").evaluate(values)


def _endpoint(expr: str) -> InvariantEndpoint:
    return InvariantEndpoint.model_validate({"path": "/admin/stats", "checks": [{"id": "http_inv", "expr": expr}]})


def test_a_false_check_names_the_expression_and_the_values() -> None:
    endpoint = _endpoint("personal_workspaces == users")
    verdict = judge(endpoint.checks[0], endpoint, {"personal_workspaces": 39, "users": 40})
    assert verdict.holds is False
    assert "personal_workspaces == users is false" in verdict.message
    assert "personal_workspaces = 39, users = 40" in verdict.message


def test_a_missing_field_is_inconclusive_naming_it() -> None:
    endpoint = _endpoint("personal_workspaces == users")
    verdict = judge(endpoint.checks[0], endpoint, {"users": 40})
    assert verdict.holds is None and "field personal_workspaces is missing" in verdict.message
