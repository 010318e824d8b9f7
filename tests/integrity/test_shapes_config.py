"""The shape keys of `tenancy:` as an environment file writes them, and what they make not applicable (no database)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from rollout_gate.config import ConfigError, load_environment
from rollout_gate.config.models import TenancyConfig
from rollout_gate.integrity.applicability import CHECKS, not_applicable


def load(tmp_path: Path, tenancy: str) -> TenancyConfig:
    path = tmp_path / "shape.yaml"
    path.write_text("name: shape\ntenancy:\n" + textwrap.indent(textwrap.dedent(tenancy), "  "))
    return load_environment(path, {}).env.tenancy


def test_the_shape_keys_parse(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        tenant_keys: {public.invoices: org_id}
        global_rows: {public.tags: "organization_id is null"}
        personal_workspace: {owner_column: primary_owner_user_id, predicate: personal_account}
        users_without_tenant: allowed
        tenants_without_owner: allowed
        migration: {mode: lazy, deployed_at: "2025-06-01T12:00:00+02:00", signed_in_column: last_sign_in_at,
                    owner_column: user_id}
        """,
    )
    assert config.tenant_keys == {"public.invoices": "org_id"}
    assert config.global_rows == {"public.tags": "organization_id is null"}
    assert config.personal_workspace is not None and config.personal_workspace.predicate == "personal_account"
    assert config.migration.deployed_at is not None and config.migration.deployed_at.utcoffset() is not None
    # Defaults: nothing is allowed, nothing is lazy, the personal-workspace model is there.
    default = TenancyConfig()
    assert (default.users_without_tenant, default.tenants_without_owner, default.migration.mode) == (
        "forbidden", "forbidden", "eager",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("tenancy", "message"),
    [
        ("personal_workspace:\n", "tenancy.personal_workspace: write none (the model has no personal workspaces)"),
        ("personal_workspace: no\n", "tenancy.personal_workspace: write none"),
        ("personal_workspace: {funtion: x}\n", "tenancy.personal_workspace.funtion: unknown key"),
        ("users_without_tenant: yes\n", "tenancy.users_without_tenant:"),
        (
            "migration: {mode: lazy, signed_in_column: s}\n",
            "tenancy.migration: mode lazy needs deployed_at, owner_column",
        ),
        (
            'migration: {mode: lazy, signed_in_column: s, owner_column: o, deployed_at: "2025-06-01T12:00:00"}\n',
            "tenancy.migration.deployed_at: Input should have timezone info",
        ),
    ],
)
def test_a_mistaken_shape_key_is_one_line_naming_it(tmp_path: Path, tenancy: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, tenancy)
    assert message in str(raised.value)
    assert len(str(raised.value).splitlines()) == 1


def test_only_a_declaration_makes_a_check_not_applicable() -> None:
    # Unset or default keys are never a declaration: every check applies.
    assert [not_applicable(c, TenancyConfig()) for c in CHECKS] == [None, None, None]
    unset = TenancyConfig.model_validate({"personal_workspace": {"function": None, "owner_column": None}})
    assert not_applicable("personal_workspace", unset) is None
    declared = TenancyConfig.model_validate(
        {"personal_workspace": "none", "users_without_tenant": "allowed", "tenants_without_owner": "allowed"}
    )
    assert {c: not_applicable(c, declared) for c in CHECKS} == {
        "user_has_tenant": "tenancy.users_without_tenant: allowed (users may belong to no tenant)",
        "personal_workspace": "tenancy.personal_workspace: none (the model has no personal workspaces)",
        "tenant_has_owner": "tenancy.tenants_without_owner: allowed (tenants may have no owner)",
    }
    # Each declaration rules out its own check only.
    owners_only = TenancyConfig.model_validate({"tenants_without_owner": "allowed"})
    assert [c for c in CHECKS if not_applicable(c, owners_only)] == ["tenant_has_owner"]
    with pytest.raises(KeyError):
        not_applicable("no_such_check", declared)
