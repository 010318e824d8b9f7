"""Units of the schema comparison: each kind of difference is a finding naming the object and what differs."""

from __future__ import annotations

from rollout_gate.integrity.schema_snapshot import SchemaSnapshot, compare_schemas


def snapshot(**objects: dict[str, dict[str, object]]) -> SchemaSnapshot:
    return SchemaSnapshot(schemas=["public"], objects=objects)


V1 = snapshot(
    column={"public.clients.email": {"type": "text", "not_null": False, "default": None, "position": 4}},
    relation={"public.clients": {"kind": "table", "rls_enabled": True, "rls_forced": False}},
    policy={"public.clients.clients_select_own": {"command": "r", "using": "(user_id = ( SELECT auth.uid() AS uid))"}},
)


def test_identical_schemas_have_no_findings() -> None:
    assert compare_schemas(V1, snapshot(**V1.objects)) == []


def test_an_object_left_behind_is_named_with_its_kind() -> None:
    after = snapshot(**{**V1.objects, "grant": {"function public.is_member(org uuid) to authenticated": {"p": "X"}}})
    (finding,) = compare_schemas(V1, after)
    assert (finding.kind, finding.name, finding.change) == (
        "grant", "function public.is_member(org uuid) to authenticated", "left behind"
    )  # fmt: skip
    assert str(finding).startswith("grant function public.is_member(org uuid) to authenticated: left behind")


def test_a_missing_column_is_named_table_dot_column() -> None:
    after = snapshot(**{**V1.objects, "column": {}})
    (finding,) = compare_schemas(V1, after)
    assert str(finding) == "column public.clients.email: missing: the pre-deploy schema had it (position 4, type text)"


def test_a_changed_flag_says_what_it_is_and_was() -> None:
    forced = {"public.clients": {"kind": "table", "rls_enabled": True, "rls_forced": True}}
    (finding,) = compare_schemas(V1, snapshot(**{**V1.objects, "relation": forced}))
    assert str(finding) == "relation public.clients: changed: rls_forced true (was false)"


def test_a_changed_policy_expression_is_a_finding() -> None:
    loose = {"public.clients.clients_select_own": {"command": "r", "using": "true"}}
    (finding,) = compare_schemas(V1, snapshot(**{**V1.objects, "policy": loose}))
    assert finding.change == "changed" and "using true (was (user_id = ( SELECT auth.uid() AS uid)))" in finding.detail
