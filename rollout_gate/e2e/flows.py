"""The reference app's four critical flows ([MDR] Manual Verification Steps: User Login Test, Team
Functionality Test) as flow classes: the built-in example of the `pytest_rollout_e2e_flows` hook.

A flow's `run` parameters are fixture names, given as for a test; `destructive = True` keeps it out
where the environment forbids writes. Registered only where the environment says the target is the
reference app (fixtures/browser.py); a team registers its own classes the same way.
"""

from __future__ import annotations

from typing import Any

from rollout_gate.api.client import Session, expect
from rollout_gate.api.reference import ReferenceApi
from rollout_gate.e2e.session import AppBrowser
from rollout_gate.mail import Mailbox
from rollout_gate.provisioning.existing import ExistingUser
from rollout_gate.provisioning.model import TestUser
from rollout_gate.provisioning.provisioner import Provisioner
from rollout_gate.provisioning.tenants import TwoOrgs


class ExistingUserSeesPersonalWorkspace:
    name = "existing_user_signs_in_and_sees_personal_workspace_with_history"

    def run(
        self,
        rollout_browser: AppBrowser,
        rollout_pages: Any,
        rollout_api: ReferenceApi,
        rollout_existing_user: ExistingUser,
        rollout_existing_session: Session,
    ) -> None:
        dashboard = (
            rollout_pages.sign_in(rollout_browser.new_page("existing-user"))
            .open()
            .sign_in_to_dashboard(rollout_existing_user.email, rollout_existing_user.password)
        )
        dashboard.expect_personal_workspace()
        workspace = expect(rollout_api.ensure_personal_workspace(rollout_existing_session), 200)
        dashboard.expect_org(workspace["name"], role="owner")
        totals = {
            kind: expect(rollout_api.records(rollout_existing_session, workspace["id"], path, limit=1), 200)["total"]
            for kind, path in (("projects", "projects"), ("entries", "time-entries"), ("clients", "clients"))
        }
        assert totals["projects"] > 0, f"{rollout_existing_user.email} has no historical projects to look at"
        shown = dashboard.counts()
        assert shown == totals, f"the dashboard shows {shown}, the API counts {totals}"
        newest = expect(rollout_api.records(rollout_existing_session, workspace["id"], "projects", limit=1), 200)[
            "items"
        ][0]["name"]
        assert newest in dashboard.project_names(), f"the newest project {newest} is not on the dashboard"


class TeammateJoinsFromEmailedLink:
    name = "owner_creates_organization_and_teammate_joins_from_the_emailed_link"
    destructive = True

    def run(
        self,
        rollout_browser: AppBrowser,
        rollout_pages: Any,
        rollout_existing_user: ExistingUser,
        rollout_existing_session: Session,
        rollout_provisioner: Provisioner,
        rollout_mailbox: Mailbox,
    ) -> None:
        owner_page = rollout_browser.new_page("owner")
        dashboard = (
            rollout_pages.sign_in(owner_page)
            .open()
            .sign_in_to_dashboard(rollout_existing_user.email, rollout_existing_user.password)
        )
        name = rollout_provisioner.naming.name("e2e-team")
        dashboard = dashboard.new_organization().create(name)
        owner = TestUser(
            rollout_existing_user.email,
            rollout_existing_user.password or "",  # the form above signed in with it: never None here
            str(rollout_existing_session.user_id),
            rollout_existing_session,
        )
        rollout_provisioner.adopt_org(
            dashboard.current_org_id(), name, owner
        )  # removed at the end even if a step fails

        teammate = rollout_provisioner.user("e2e-teammate")
        members = dashboard.members().invite(teammate.email, "member")
        link = rollout_mailbox.wait_for(teammate.email, subject=name).link("/invitations/accept")

        teammate_page = rollout_browser.new_page("teammate")
        teammate_page.goto(link)
        rollout_pages.sign_in(teammate_page).sign_in(teammate.email, teammate.password)
        teammate_dashboard = rollout_pages.accept_invitation(teammate_page).expect_invitation(name).accept()
        teammate_dashboard.expect_org(name, role="member")
        assert name in teammate_dashboard.organizations(), f"{name} is not in the teammate's organizations"
        members.reload().expect_member(teammate.email, "member")


class ViewerCannotCreateAProject:
    name = "viewer_cannot_create_a_project"
    destructive = True

    def run(
        self,
        rollout_browser: AppBrowser,
        rollout_pages: Any,
        rollout_two_orgs: TwoOrgs,
        rollout_provisioner: Provisioner,
        rollout_api: ReferenceApi,
    ) -> None:
        page = rollout_browser.new_page("viewer")
        dashboard = (
            rollout_pages.sign_in(page)
            .open()
            .sign_in_to_dashboard(rollout_two_orgs.viewer.email, rollout_two_orgs.viewer.password)
        )
        dashboard.switch_to(rollout_two_orgs.x.name).expect_read_only()
        # Not just hidden: the server refuses the form post too.
        response = page.request.post(
            f"/orgs/{rollout_two_orgs.x.id}/projects", form={"name": "by a viewer"}, max_redirects=0
        )
        assert response.status == 403, f"a viewer's project form post answered {response.status}"
        owner = rollout_provisioner.session(rollout_two_orgs.x.owner)
        names = [p["name"] for p in expect(rollout_api.records(owner, rollout_two_orgs.x.id, "projects"), 200)["items"]]
        assert "by a viewer" not in names, "the viewer's project was stored"


class SwitchingOrganizationsShowsOnlyItsData:
    name = "switching_organizations_shows_only_that_organizations_data"
    destructive = True

    def run(self, rollout_browser: AppBrowser, rollout_pages: Any, rollout_two_orgs: TwoOrgs) -> None:
        page = rollout_browser.new_page("member-of-both")
        dashboard = (
            rollout_pages.sign_in(page)
            .open()
            .sign_in_to_dashboard(rollout_two_orgs.both.email, rollout_two_orgs.both.password)
        )
        for shown, hidden in ((rollout_two_orgs.x, rollout_two_orgs.y), (rollout_two_orgs.y, rollout_two_orgs.x)):
            projects = dashboard.switch_to(shown.name).project_names()
            own = rollout_two_orgs.x_project if shown is rollout_two_orgs.x else rollout_two_orgs.y_project
            other = rollout_two_orgs.y_project if shown is rollout_two_orgs.x else rollout_two_orgs.x_project
            assert own in projects, f"{shown.name} does not show its project"
            assert other not in projects, f"{shown.name} shows {hidden.name}'s project {other}"


REFERENCE_FLOWS: tuple[type, ...] = (
    ExistingUserSeesPersonalWorkspace,
    TeammateJoinsFromEmailedLink,
    ViewerCannotCreateAProject,
    SwitchingOrganizationsShowsOnlyItsData,
)
