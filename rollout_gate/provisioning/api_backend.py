"""Provisioning through the target's API (the reference app's contract), as a user would do it.

Memberships go the real way, invitation then acceptance, so they need the test mailbox; the only
thing no API offers is an expired invitation, for which the `expire_invitation` SQL template is used.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from rollout_gate.api.client import ApiError, Session, expect
from rollout_gate.api.reference import ReferenceApi
from rollout_gate.auth import sign_in
from rollout_gate.config.models import AuthConfig
from rollout_gate.mail import Mailbox
from rollout_gate.provisioning.model import ProvisioningError, TestOrg, TestUser

ACCEPT_PATH = "/invitations/accept"


def provisioned_secret(auth: AuthConfig, user: TestUser) -> str | None:
    """What a provisioned user signs in with: its password; under bearer_tokens only a token issued beforehand
    (`target.auth.tokens`) can sign it in, so its password is never sent as a bearer token."""
    return None if auth.kind == "bearer_tokens" else user.password


def invitation_token(link: str) -> str:
    tokens = parse_qs(urlsplit(link).query).get("token")
    if not tokens:
        raise ProvisioningError("the invitation link carries no token")
    return tokens[0]


class ApiBackend:
    def __init__(self, api: ReferenceApi, mailbox: Mailbox | None, *, auth: AuthConfig | None = None) -> None:
        self.api = api
        self.mailbox = mailbox
        self.auth = auth or AuthConfig()

    def session(self, user: TestUser) -> Session:
        if user.session is None:
            user.session = sign_in(self.auth, self.api, user.email, provisioned_secret(self.auth, user))
        return user.session

    def create_user(self, email: str, password: str) -> TestUser:
        body = _ok(self.api.sign_up(email, password), 201)
        session = Session(email=email, token=body["access_token"], user_id=str(body["user"]["id"]))
        return TestUser(email=email, password=password, id=str(body["user"]["id"]), session=session)

    def create_org(self, owner: TestUser, name: str) -> str:
        return str(_ok(self.api.create_organization(self.session(owner), name), 201)["id"])

    def add_member(self, org: TestOrg, user: TestUser, role: str) -> None:
        # Invitations never grant ownership: join as admin, then the owner promotes.
        _, token = self.invite(org, org.owner, user.email, "admin" if role == "owner" else role)
        _ok(self.api.accept(self.session(user), token), 200)
        if role == "owner":
            _ok(self.api.change_role(self.session(org.owner), org.id, user.id, "owner"), 200)

    def invite(self, org: TestOrg, inviter: TestUser, email: str, role: str) -> tuple[str, str]:
        if self.mailbox is None:
            raise ProvisioningError(
                "provisioning invitations through the API needs the test mailbox (mail.maildir); "
                "or set provisioning.via: sql"
            )
        previous = len(self.mailbox.to(email))
        body = _ok(self.api.invite(self.session(inviter), org.id, email, role), 201)
        mail = self.mailbox.wait_for(email, count=previous + 1)
        return str(body["id"]), invitation_token(mail.link(ACCEPT_PATH))

    def revoke(self, org: TestOrg, inviter: TestUser, invitation_id: str) -> None:
        _ok(self.api.revoke(self.session(inviter), org.id, invitation_id), 200)

    def create_record(self, org: TestOrg, user: TestUser, kind: str, values: dict[str, Any]) -> str:
        body = {k: v for k, v in values.items() if v is not None}
        if kind == "time-entries":
            body.setdefault("started_at", "2024-06-01T09:00:00+00:00")
            body.setdefault("ended_at", "2024-06-01T10:00:00+00:00")
        return str(_ok(self.api.create_record(self.session(user), org.id, kind, body), 201)["id"])

    def delete_org(self, org: TestOrg) -> None:
        response = self.api.delete_organization(self.session(org.owner), org.id)
        if response.status_code not in (204, 404):
            _ok(response, 204)

    def delete_user(self, user: TestUser) -> None:
        response = self.api.delete_account(self.session(user))
        if response.status_code not in (204, 401, 404):
            _ok(response, 204)


def _ok(response: Any, status: int) -> Any:
    try:
        return expect(response, status)
    except ApiError as exc:
        raise ProvisioningError(f"provisioning through the API: {exc}") from None
