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


def test_viewer_cannot_write(api: ReferenceApi, role_org: RoleOrg) -> None:
    org = role_org.org.id
    assert_refused(
        api.create_record(role_org["viewer"], org, "projects", {"name": "by a viewer"}), "a viewer creating a project"
    )
    project = expect(api.create_record(role_org["member"], org, "projects", {"name": "by a member"}), 201)
    assert_refused(
        api.update_record(role_org["viewer"], org, "projects", project["id"], {"name": "renamed by a viewer"}),
        "a viewer renaming a project",
    )
    assert_refused(api.delete_record(role_org["viewer"], org, "projects", project["id"]), "a viewer deleting a project")
    assert expect(api.record(role_org["owner"], org, "projects", project["id"]), 200)["name"] == "by a member"


def test_member_cannot_invite(api: ReferenceApi, role_org: RoleOrg, provisioner: Provisioner) -> None:
    org, email = role_org.org.id, provisioner.naming.email("invited-by-member")
    assert_refused(api.invite(role_org["member"], org, email, "viewer"), "a member inviting someone")
    invited = {i["email"] for i in expect(api.invitations(role_org["owner"], org), 200)["items"]}
    assert email not in invited, "the member's refused invitation was stored anyway"
    expect(api.invite(role_org["admin"], org, email, "viewer"), 201)


def test_admin_cannot_delete_the_organization(api: ReferenceApi, role_org: RoleOrg) -> None:
    org = role_org.org.id
    assert_refused(api.delete_organization(role_org["admin"], org), "an admin deleting the organization")
    assert expect(api.config(role_org["owner"], org), 200)["id"] == org


def test_accepted_invitation_cannot_be_reused(api: ReferenceApi, role_org: RoleOrg, provisioner: Provisioner) -> None:
    org, invitee = role_org.org, provisioner.user("reuse")
    invitation = provisioner.invitation(org, invitee.email, "member")
    session = provisioner.session(invitee)
    expect(api.accept(session, invitation.token), 200)
    expect(api.remove_member(role_org["owner"], org.id, invitee.id), 204)
    assert_refused(api.accept(session, invitation.token), "accepting a used invitation again", INVITATION_REFUSED)
    assert_not_member(api, session, org.id, "a used invitation let them back in")


@pytest.mark.parametrize("state", ["expired", "revoked"])
def test_expired_or_revoked_invitation_cannot_be_accepted(
    state: str, api: ReferenceApi, role_org: RoleOrg, provisioner: Provisioner
) -> None:
    org, invitee = role_org.org, provisioner.user(state)
    invitation = provisioner.invitation(org, invitee.email, "member", state=state)  # type: ignore[arg-type]
    session = provisioner.session(invitee)
    assert_refused(api.accept(session, invitation.token), f"accepting a {state} invitation", INVITATION_REFUSED)
    assert_not_member(api, session, org.id, f"a {state} invitation was accepted")


def test_invitation_is_only_for_the_invited_email(
    api: ReferenceApi, role_org: RoleOrg, provisioner: Provisioner
) -> None:
    org, intended, other = role_org.org, provisioner.user("intended"), provisioner.user("other")
    invitation = provisioner.invitation(org, intended.email, "member")
    other_session = provisioner.session(other)
    assert_refused(
        api.accept(other_session, invitation.token), "accepting someone else's invitation", INVITATION_REFUSED
    )
    assert_not_member(api, other_session, org.id, "they used an invitation sent to another email")
    expect(api.accept(provisioner.session(intended), invitation.token), 200)


def test_last_owner_cannot_leave(api: ReferenceApi, provisioner: Provisioner) -> None:
    owner = provisioner.user("sole-owner")
    org = provisioner.org(owner, "sole-owner-org")
    session = provisioner.session(owner)
    assert_refused(api.remove_member(session, org.id, owner.id), "the last owner leaving", LAST_OWNER_REFUSED)
    assert expect(api.config(session, org.id), 200)["role"] == "owner"
