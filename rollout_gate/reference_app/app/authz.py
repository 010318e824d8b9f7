"""Who may do what in an organization: the app's own checks, in front of RLS."""

from __future__ import annotations

from dataclasses import dataclass

from rollout_gate.reference_app.app.faults import NO_FAULTS, Fault, Faults

ROLES = ("owner", "admin", "member", "viewer")
INVITABLE_ROLES = ("admin", "member", "viewer")
WRITERS = frozenset({"owner", "admin", "member"})
MANAGERS = frozenset({"owner", "admin"})


@dataclass(frozen=True)
class Policy:
    faults: Faults = NO_FAULTS

    def can_write(self, role: str) -> bool:
        """Clients, projects and time entries: everyone but viewers."""
        return role in WRITERS or (Fault.VIEWER_CAN_WRITE in self.faults and role == "viewer")

    def can_invite(self, role: str) -> bool:
        return role in MANAGERS or (Fault.MEMBER_CAN_INVITE in self.faults and role == "member")

    def can_manage_invitations(self, role: str) -> bool:
        return role in MANAGERS

    def can_rename_org(self, role: str) -> bool:
        return role == "owner"

    def can_delete_org(self, role: str) -> bool:
        return role == "owner" or (Fault.ADMIN_CAN_DELETE_ORG in self.faults and role == "admin")

    def can_change_member(self, actor: str, current: str, new: str) -> bool:
        """Owners change anyone to anything; admins only non-owners, and never to owner."""
        if actor == "owner":
            return True
        return actor == "admin" and current != "owner" and new != "owner"

    def can_remove_member(self, actor: str, target: str, *, self_removal: bool) -> bool:
        if self_removal:
            return True  # anyone may leave (the last-owner rule is checked separately)
        return actor == "owner" or (actor == "admin" and target != "owner")

    def last_owner_may_leave(self) -> bool:
        return Fault.LAST_OWNER_CAN_LEAVE in self.faults
