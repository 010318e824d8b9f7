"""Every fault flag of the reference app is caught by the suite that exists for it, and only there.

Each flag removes one protection; a post-deploy rehearsal of the suite covering it must end not
GO, with exactly the tests that check that protection failing (everything else still passes, so
the flag removed one protection and the suite attributes it). The clean app passing the same
suites is proven by `tests/provisioning/test_provisioning_leftovers.py` (one shared clean run).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rollout_gate.reference_app.app.faults import Fault
from tests.rehearsal import Rehearsal, rehearse

ROLE_RULES = "suites/tenant_isolation/api/test_role_rules.py"
CROSS_TENANT = "suites/tenant_isolation/api/test_cross_tenant_api.py"
E2E = "suites/e2e/test_flows.py"
SMOKE = "suites/smoke/test_smoke.py"
DECLARED = "suites/smoke/test_declared_endpoints.py"
ROUTES = "suites/e2e/test_routes.py"
ORG = "/api/organizations/{org}"

# flag -> (suite files to run, the tests that must fail: "file::test" prefixes)
CAUGHT_BY: dict[Fault, tuple[tuple[str, ...], tuple[str, ...]]] = {
    Fault.SKIP_PROJECT_AUTHZ: (
        (CROSS_TENANT,),
        (f"{CROSS_TENANT}::test_endpoint_refuses_the_other_organization[GET {ORG}/projects/{{project}}]",),
    ),
    Fault.INVITE_ANY_EMAIL: ((ROLE_RULES,), (f"{ROLE_RULES}::test_invitation_is_only_for_the_invited_email",)),
    Fault.REUSABLE_INVITES: ((ROLE_RULES,), (f"{ROLE_RULES}::test_accepted_invitation_cannot_be_reused",)),
    Fault.EXPIRED_INVITES_ACCEPTED: (
        (ROLE_RULES,),
        (f"{ROLE_RULES}::test_expired_or_revoked_invitation_cannot_be_accepted[expired]",),
    ),
    Fault.REVOKED_INVITES_ACCEPTED: (
        (ROLE_RULES,),
        (f"{ROLE_RULES}::test_expired_or_revoked_invitation_cannot_be_accepted[revoked]",),
    ),
    Fault.MEMBER_CAN_INVITE: ((ROLE_RULES,), (f"{ROLE_RULES}::test_member_cannot_invite",)),
    Fault.ADMIN_CAN_DELETE_ORG: ((ROLE_RULES,), (f"{ROLE_RULES}::test_admin_cannot_delete_the_organization",)),
    Fault.LAST_OWNER_CAN_LEAVE: ((ROLE_RULES,), (f"{ROLE_RULES}::test_last_owner_cannot_leave",)),
    # RLS still refuses the write: the API answers 500 instead of 403, and the page shows the form.
    Fault.VIEWER_CAN_WRITE: (
        (ROLE_RULES, E2E),
        (f"{ROLE_RULES}::test_viewer_cannot_write", f"{E2E}::test_flow[viewer_cannot_create_a_project]"),
    ),
    Fault.HIDE_PRE_MIGRATION_DATA: (
        ("suites/smoke",),
        ("suites/smoke/test_smoke.py::test_personal_workspace_exists_with_pre_migration_data",),
    ),
    Fault.AUTH_HEALTH_BROKEN: (("suites/smoke",), (f"{SMOKE}::test_auth_health",)),
    Fault.ANY_PASSWORD: (("suites/smoke",), (f"{SMOKE}::test_existing_user_signs_in",)),
    Fault.DASHBOARD_BROKEN: (("suites/smoke",), (f"{SMOKE}::test_core_pages_load",)),
    Fault.NO_METRICS: (
        ("suites/smoke",),
        (f"{SMOKE}::test_metrics_are_exposed", f"{DECLARED}::test_declared_endpoint[metrics]"),
    ),
    Fault.SLOW_DASHBOARD: ((ROUTES,), (f"{ROUTES}::test_route_page_load_time[dashboard]",)),
    Fault.DASHBOARD_IGNORES_ORG: (
        (E2E,),
        (f"{E2E}::test_flow[switching_organizations_shows_only_that_organizations_data]",),
    ),
}
_FAILED = re.compile(r"^(?:FAILED|ERROR) (.+?)(?: - .*)?$", re.M)


def failed_tests(run: Rehearsal) -> set[str]:
    return set(_FAILED.findall(run.output))


# Flags only concurrency or volume shows: caught by the load phase in tests/load/test_load_phase.py.
CAUGHT_UNDER_LOAD = {Fault.SESSION_LEVEL_SET, Fault.SLOW_PROJECTS, Fault.FAILING_PROJECTS}
# Flags only an environment declaring invariants.http sees: caught in tests/httponly/test_http_only_on_local_up.py.
CAUGHT_BY_HTTP_INVARIANTS = {Fault.STATS_DISAGREE}


def test_every_fault_flag_has_a_suite_that_catches_it() -> None:
    assert set(CAUGHT_BY) | CAUGHT_UNDER_LOAD | CAUGHT_BY_HTTP_INVARIANTS == set(Fault)
    assert not set(CAUGHT_BY) & (CAUGHT_UNDER_LOAD | CAUGHT_BY_HTTP_INVARIANTS)


@pytest.mark.parametrize("flag", list(CAUGHT_BY), ids=str)
def test_fault_flag_is_caught(flag: Fault, tmp_path: Path) -> None:
    suites, must_fail = CAUGHT_BY[flag]
    run = rehearse(tmp_path / "reports", "--phase=post-deploy", *suites, extra_env={"ROLLOUT_APP_FAULTS": flag.value})
    assert run.verdict != "GO", run.output[-3000:]
    assert run.returncode != 0
    assert failed_tests(run) == set(must_fail), run.output[-3000:]
    if E2E in suites:
        # The failing browser test left a screenshot and a trace for whoever investigates.
        kept = list((tmp_path / "reports" / "e2e").rglob("*"))
        assert any(p.suffix == ".png" for p in kept) and any(p.name.endswith("-trace.zip") for p in kept), kept
