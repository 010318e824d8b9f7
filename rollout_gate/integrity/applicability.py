"""Which data-integrity checks the environment file declares to have nothing to check.

Only what the file says counts: `personal_workspace: none`, `users_without_tenant: allowed`,
`tenants_without_owner: allowed`. Nothing is not applicable by guess (an unset key is discovered
or inconclusive, an empty table is checked as it is).
"""

from __future__ import annotations

from rollout_gate.config.models import TenancyConfig

CHECKS = ("user_has_tenant", "personal_workspace", "tenant_has_owner")


def not_applicable(check: str, tenancy: TenancyConfig) -> str | None:
    """Why `check` has nothing to check under this tenancy model, or None when it applies."""
    if check not in CHECKS:
        raise KeyError(f"unknown integrity check {check!r}")
    if check == "personal_workspace" and tenancy.personal_workspace is None:
        return "tenancy.personal_workspace: none (the model has no personal workspaces)"
    if check == "user_has_tenant" and tenancy.users_without_tenant == "allowed":
        return "tenancy.users_without_tenant: allowed (users may belong to no tenant)"
    if check == "tenant_has_owner" and tenancy.tenants_without_owner == "allowed":
        return "tenancy.tenants_without_owner: allowed (tenants may have no owner)"
    return None
