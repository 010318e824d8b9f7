"""Runbook: "Test role-based permissions" — who may do what inside one organization, and invitations.

Each rule is checked with the request that must be refused and, where it makes the refusal
meaningful, the same request from a role that may do it.
"""

from __future__ import annotations

import pytest

from rollout_gate.api.client import expect
from rollout_gate.api.reference import ReferenceApi
from rollout_gate.api.rules import INVITATION_REFUSED, LAST_OWNER_REFUSED, assert_not_member, assert_refused
from rollout_gate.provisioning.provisioner import Provisioner
from rollout_gate.provisioning.tenants import RoleOrg

pytestmark = [
    pytest.mark.isolation,
    pytest.mark.phase("post-deploy"),
    pytest.mark.destructive,
    pytest.mark.criterion("role_rules"),
]


def test_viewer_cannot_write(rollout_api: ReferenceApi, rollout_role_org: RoleOrg) -> None:
    org = rollout_role_org.org.id
    assert_refused(
        rollout_api.create_record(rollout_role_org["viewer"], org, "projects", {"name": "by a viewer"}),
        "a viewer creating a project",
    )
    project = expect(
        rollout_api.create_record(rollout_role_org["member"], org, "projects", {"name": "by a member"}), 201
    )
    assert_refused(
        rollout_api.update_record(
            rollout_role_org["viewer"], org, "projects", project["id"], {"name": "renamed by a viewer"}
        ),
        "a viewer renaming a project",
    )
    assert_refused(
        rollout_api.delete_record(rollout_role_org["viewer"], org, "projects", project["id"]),
        "a viewer deleting a project",
    )
    assert (
        expect(rollout_api.record(rollout_role_org["owner"], org, "projects", project["id"]), 200)["name"]
        == "by a member"
    )


def test_member_cannot_invite(
    rollout_api: ReferenceApi, rollout_role_org: RoleOrg, rollout_provisioner: Provisioner
) -> None:
    org, email = rollout_role_org.org.id, rollout_provisioner.naming.email("invited-by-member")
    assert_refused(rollout_api.invite(rollout_role_org["member"], org, email, "viewer"), "a member inviting someone")
    invited = {i["email"] for i in expect(rollout_api.invitations(rollout_role_org["owner"], org), 200)["items"]}
    assert email not in invited, "the member's refused invitation was stored anyway"
    expect(rollout_api.invite(rollout_role_org["admin"], org, email, "viewer"), 201)


def test_admin_cannot_delete_the_organization(rollout_api: ReferenceApi, rollout_role_org: RoleOrg) -> None:
    org = rollout_role_org.org.id
    assert_refused(
        rollout_api.delete_organization(rollout_role_org["admin"], org), "an admin deleting the organization"
    )
    assert expect(rollout_api.config(rollout_role_org["owner"], org), 200)["id"] == org


def test_accepted_invitation_cannot_be_reused(
    rollout_api: ReferenceApi, rollout_role_org: RoleOrg, rollout_provisioner: Provisioner
) -> None:
    org, invitee = rollout_role_org.org, rollout_provisioner.user("reuse")
    invitation = rollout_provisioner.invitation(org, invitee.email, "member")
    session = rollout_provisioner.session(invitee)
    expect(rollout_api.accept(session, invitation.token), 200)
    expect(rollout_api.remove_member(rollout_role_org["owner"], org.id, invitee.id), 204)
    assert_refused(
        rollout_api.accept(session, invitation.token), "accepting a used invitation again", INVITATION_REFUSED
    )
    assert_not_member(rollout_api, session, org.id, "a used invitation let them back in")


@pytest.mark.parametrize("state", ["expired", "revoked"])
def test_expired_or_revoked_invitation_cannot_be_accepted(
    state: str, rollout_api: ReferenceApi, rollout_role_org: RoleOrg, rollout_provisioner: Provisioner
) -> None:
    org, invitee = rollout_role_org.org, rollout_provisioner.user(state)
    invitation = rollout_provisioner.invitation(org, invitee.email, "member", state=state)  # type: ignore[arg-type]
    session = rollout_provisioner.session(invitee)
    assert_refused(rollout_api.accept(session, invitation.token), f"accepting a {state} invitation", INVITATION_REFUSED)
    assert_not_member(rollout_api, session, org.id, f"a {state} invitation was accepted")


def test_invitation_is_only_for_the_invited_email(
    rollout_api: ReferenceApi, rollout_role_org: RoleOrg, rollout_provisioner: Provisioner
) -> None:
    org, intended, other = rollout_role_org.org, rollout_provisioner.user("intended"), rollout_provisioner.user("other")
    invitation = rollout_provisioner.invitation(org, intended.email, "member")
    other_session = rollout_provisioner.session(other)
    assert_refused(
        rollout_api.accept(other_session, invitation.token), "accepting someone else's invitation", INVITATION_REFUSED
    )
    assert_not_member(rollout_api, other_session, org.id, "they used an invitation sent to another email")
    expect(rollout_api.accept(rollout_provisioner.session(intended), invitation.token), 200)


def test_last_owner_cannot_leave(rollout_api: ReferenceApi, rollout_provisioner: Provisioner) -> None:
    owner = rollout_provisioner.user("sole-owner")
    org = rollout_provisioner.org(owner, "sole-owner-org")
    session = rollout_provisioner.session(owner)
    assert_refused(rollout_api.remove_member(session, org.id, owner.id), "the last owner leaving", LAST_OWNER_REFUSED)
    assert expect(rollout_api.config(session, org.id), 200)["role"] == "owner"
