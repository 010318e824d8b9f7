"""Ready-made test tenants: an organization with data for the isolation probes, one with every role."""

from __future__ import annotations

from dataclasses import dataclass

from rollout_gate.api.client import Session
from rollout_gate.api.isolation import Tenant
from rollout_gate.provisioning.model import TestOrg, TestUser
from rollout_gate.provisioning.provisioner import Provisioner


def tenant_with_data(prov: Provisioner, label: str) -> tuple[Tenant, TestOrg]:
    """An organization with an owner, a member, a client, a project, a time entry and a pending invitation."""
    owner, member = prov.user(f"{label}-owner"), prov.user(f"{label}-member")
    org = prov.org(owner, f"{label}-org", members={"member": member})
    client_name, project_name, note = (prov.naming.name(f"{label}-{kind}") for kind in ("client", "project", "note"))
    client = prov.record(org, owner, "clients", name=client_name)
    project = prov.record(org, owner, "projects", name=project_name, client_id=client)
    entry = prov.record(org, owner, "time-entries", project_id=project, note=note)
    invitee = prov.naming.email(f"{label}-invitee")
    invitation = prov.invitation(org, invitee, "member")
    ids = {
        "org": org.id,
        "client": client,
        "project": project,
        "time_entry": entry,
        "invitation": invitation.id,
        "member": member.id,
    }
    markers = {
        org.id: "organization id",
        org.name: "organization name",
        owner.id: "owner's user id",
        owner.email: "owner's email",
        member.id: "member's user id",
        member.email: "member's email",
        client: "client id",
        client_name: "client name",
        project: "project id",
        project_name: "project name",
        entry: "time entry id",
        note: "time entry note",
        invitation.id: "invitation id",
        invitee: "invited email",
    }
    return Tenant(label, prov.session(owner), ids, markers), org


@dataclass(frozen=True)
class RoleOrg:
    """An organization with one user in each role, and a signed-in outsider."""

    org: TestOrg
    users: dict[str, TestUser]
    sessions: dict[str, Session]

    def __getitem__(self, role: str) -> Session:
        return self.sessions[role]


def org_with_every_role(prov: Provisioner, label: str = "roles") -> RoleOrg:
    users = {role: prov.user(f"{label}-{role}") for role in ("owner", "admin", "member", "viewer", "outsider")}
    members = {role: users[role] for role in ("admin", "member", "viewer")}
    org = prov.org(users["owner"], f"{label}-org", members=members)
    return RoleOrg(org, users, {role: prov.session(user) for role, user in users.items()})


@dataclass(frozen=True)
class TwoOrgs:
    """Organizations X and Y with one project each, a user in both, and a viewer in X."""

    x: TestOrg
    y: TestOrg
    x_project: str
    y_project: str
    both: TestUser
    viewer: TestUser


def two_orgs_one_user(prov: Provisioner, label: str = "switch") -> TwoOrgs:
    both, viewer = prov.user(f"{label}-both"), prov.user(f"{label}-viewer")
    x = prov.org(prov.user(f"{label}-x-owner"), f"{label}-x", members={"member": both, "viewer": viewer})
    y = prov.org(prov.user(f"{label}-y-owner"), f"{label}-y", members={"member": both})
    x_project, y_project = prov.naming.name(f"{label}-x-project"), prov.naming.name(f"{label}-y-project")
    prov.record(x, x.owner, "projects", name=x_project)
    prov.record(y, y.owner, "projects", name=y_project)
    return TwoOrgs(x, y, x_project, y_project, both, viewer)
