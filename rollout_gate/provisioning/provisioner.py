"""The provisioning facade the fixtures use: create under one prefix, track, and always clean up.

Every Provisioner owns a prefix of its own under the run's (`rg-test-<run>-<worker>-p<n>-`), so its
cleanup can delete by prefix without touching what another fixture of the same run still uses.
Cleanup goes through the API first (what a team's staging offers), then through the SQL templates
as a backstop, and finally counts what is left: a leftover is an error, not a silent mess.
"""

from __future__ import annotations

import secrets
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from rollout_gate.api.client import Session
from rollout_gate.api.reference import ReferenceApi
from rollout_gate.auth import sign_in
from rollout_gate.config.models import AuthConfig
from rollout_gate.mail import Mailbox
from rollout_gate.provisioning.api_backend import ApiBackend, provisioned_secret
from rollout_gate.provisioning.config import ProvisioningConfig
from rollout_gate.provisioning.model import (
    ROLES,
    Naming,
    ProvisioningError,
    TestInvitation,
    TestOrg,
    TestUser,
    like_pattern,
)
from rollout_gate.provisioning.sql_backend import SqlBackend, SqlRunner
from rollout_gate.provisioning.sweep import count_rows, delete_rows

InvitationState = Literal["pending", "expired", "revoked"]


class Backend(Protocol):
    def create_user(self, email: str, password: str) -> TestUser: ...
    def create_org(self, owner: TestUser, name: str) -> str: ...
    def add_member(self, org: TestOrg, user: TestUser, role: str) -> None: ...
    def invite(self, org: TestOrg, inviter: TestUser, email: str, role: str) -> tuple[str, str]: ...
    def revoke(self, org: TestOrg, inviter: TestUser, invitation_id: str) -> None: ...
    def create_record(self, org: TestOrg, user: TestUser, kind: str, values: dict[str, Any]) -> str: ...
    def delete_org(self, org: TestOrg) -> None: ...
    def delete_user(self, user: TestUser) -> None: ...


@dataclass
class Access:
    """How the harness reaches the target for provisioning."""

    api: ReferenceApi | None = None
    dsn: str | None = field(default=None, repr=False)
    mailbox: Mailbox | None = None
    # How provisioned users sign in (`target.auth`): the configured provider, like every other user.
    auth: AuthConfig = field(default_factory=AuthConfig)
    connect_timeout: float = 10.0


class Provisioner:
    def __init__(self, config: ProvisioningConfig, prefix: str, access: Access, *, password: str | None = None) -> None:
        self.config = config
        self.prefix = prefix
        self.naming = Naming(prefix, config.email_domain)
        self.access = access
        # One password for this provisioner's users; generated unless the environment gives one.
        self.password = password or secrets.token_urlsafe(18)
        self.sql = SqlRunner(access.dsn, config.sql, connect_timeout=access.connect_timeout) if access.dsn else None
        self.via = self._via()
        self.backend: Backend = self._backend()
        self.users: list[TestUser] = []
        self.orgs: list[TestOrg] = []

    def _via(self) -> str:
        via = self.config.via
        if via == "auto":
            via = "api" if self.access.api is not None else "sql"
        if via == "api" and self.access.api is None:
            raise ProvisioningError("provisioning.via is api but the environment has no target.base_url")
        if via == "sql" and self.sql is None:
            raise ProvisioningError("provisioning.via is sql but the environment has no target.database_url")
        return via

    def _backend(self) -> Backend:
        if self.via == "api":
            assert self.access.api is not None
            return ApiBackend(self.access.api, self.access.mailbox, auth=self.access.auth)
        assert self.sql is not None
        return SqlBackend(self.sql)

    # -- creating ----------------------------------------------------------------------------------

    def user(self, label: str = "user") -> TestUser:
        user = self.backend.create_user(self.naming.email(label), self.password)
        self.users.append(user)
        return user

    def org(self, owner: TestUser, label: str = "org", members: dict[str, TestUser] | None = None) -> TestOrg:
        """An organization owned by `owner`, with `members` as {role: user}."""
        name = self.naming.name(label)
        org = TestOrg(id=self.backend.create_org(owner, name), name=name, owner=owner, roles={owner.id: "owner"})
        self.orgs.append(org)
        for role, user in (members or {}).items():
            self.add_member(org, user, role)
        return org

    def adopt_org(self, org_id: str, name: str, owner: TestUser) -> TestOrg:
        """Track an organization a test created itself (through the UI), so cleanup removes it."""
        org = TestOrg(id=org_id, name=name, owner=owner, roles={owner.id: "owner"})
        self.orgs.append(org)
        return org

    def add_member(self, org: TestOrg, user: TestUser, role: str) -> None:
        if role not in ROLES:
            raise ProvisioningError(f"unknown role {role!r}")
        self.backend.add_member(org, user, role)
        org.roles[user.id] = role

    def invitation(
        self, org: TestOrg, email: str, role: str = "member", state: InvitationState = "pending"
    ) -> TestInvitation:
        invitation_id, token = self.backend.invite(org, org.owner, email, role)
        if state == "revoked":
            self.backend.revoke(org, org.owner, invitation_id)
        elif state == "expired":
            if self.sql is None:
                raise ProvisioningError("an expired invitation needs provisioning.sql on target.database_url")
            self.sql.run("expire_invitation", {"invitation_id": invitation_id})
        return TestInvitation(invitation_id, org, email, role, token, state)

    def record(self, org: TestOrg, user: TestUser, kind: str, **values: Any) -> str:
        return self.backend.create_record(org, user, kind, values)

    def session(self, user: TestUser) -> Session:
        """A signed-in API session of a provisioned user."""
        if user.session is None:
            if self.access.api is None:
                raise ProvisioningError("signing in needs target.base_url")
            user.session = sign_in(
                self.access.auth, self.access.api, user.email, provisioned_secret(self.access.auth, user)
            )
        return user.session

    # -- cleaning up -------------------------------------------------------------------------------

    @property
    def pattern(self) -> str:
        return like_pattern(self.prefix)

    def cleanup(self) -> None:
        """Remove everything under this prefix; raise if anything is left (after trying everything)."""
        problems: list[str] = []
        for org in reversed(self.orgs):
            try:
                self.backend.delete_org(org)
            except Exception as exc:  # keep going: the SQL backstop may still remove it
                problems.append(f"organization {org.name}: {exc}")
        for user in reversed(self.users):
            try:
                self.backend.delete_user(user)
            except Exception as exc:
                problems.append(f"user {user.email}: {exc}")
        if self.sql is not None:
            try:
                delete_rows(self.sql.conn, self.config.sql.cleanup, self.pattern, "0 seconds")
                left = {k: v for k, v in count_rows(self.sql.conn, self.config.sql.count, self.pattern).items() if v}
            except Exception as exc:
                problems.append(f"SQL cleanup: {exc}")
            else:
                if left:
                    problems.append("left behind: " + ", ".join(f"{n} {what}" for what, n in left.items()))
                elif problems:
                    # The backstop removed what the API could not: nothing is left, but say what failed.
                    warnings.warn(
                        f"cleanup through the API failed, SQL removed the rest: {'; '.join(problems)}", stacklevel=2
                    )
                    problems = []
            finally:
                self.sql.close()
        if problems:
            raise ProvisioningError(f"cleanup of {self.prefix}* failed: " + "; ".join(problems))
