"""The reference app's API contract, one method per endpoint (they return raw responses).

Suites assert on statuses; provisioning wraps calls in `expect(...)`. A team whose API differs
keeps the smoke and isolation suites (they read endpoints from the environment file) and
replaces this contract for role rules and API provisioning.
"""

from __future__ import annotations

from typing import Any

import httpx

from rollout_gate.api.client import ApiClient, Session

ORGS = "/api/organizations"


class ReferenceApi(ApiClient):
    # -- accounts ------------------------------------------------------------------------------
    def sign_up(self, email: str, password: str) -> httpx.Response:
        return self.request("POST", "/auth/sign-up", json={"email": email, "password": password})

    def delete_account(self, s: Session) -> httpx.Response:
        return self.request("DELETE", "/auth/me", token=s.token)

    # -- organizations -------------------------------------------------------------------------
    def organizations(self, s: Session) -> httpx.Response:
        return self.request("GET", ORGS, token=s.token)

    def create_organization(self, s: Session, name: str) -> httpx.Response:
        return self.request("POST", ORGS, token=s.token, json={"name": name})

    def rename_organization(self, s: Session, org: str, name: str) -> httpx.Response:
        return self.request("PATCH", f"{ORGS}/{org}", token=s.token, json={"name": name})

    def delete_organization(self, s: Session, org: str) -> httpx.Response:
        return self.request("DELETE", f"{ORGS}/{org}", token=s.token)

    def ensure_personal_workspace(self, s: Session) -> httpx.Response:
        return self.request("POST", f"{ORGS}/ensure-personal-workspace", token=s.token)

    def config(self, s: Session, org: str) -> httpx.Response:
        return self.request("GET", f"{ORGS}/{org}/config", token=s.token)

    # -- members and invitations ---------------------------------------------------------------
    def members(self, s: Session, org: str) -> httpx.Response:
        return self.request("GET", f"{ORGS}/{org}/members", token=s.token)

    def change_role(self, s: Session, org: str, user_id: str, role: str) -> httpx.Response:
        return self.request("PATCH", f"{ORGS}/{org}/members/{user_id}", token=s.token, json={"role": role})

    def remove_member(self, s: Session, org: str, user_id: str) -> httpx.Response:
        return self.request("DELETE", f"{ORGS}/{org}/members/{user_id}", token=s.token)

    def invite(self, s: Session, org: str, email: str, role: str = "member") -> httpx.Response:
        return self.request("POST", f"{ORGS}/{org}/invitations", token=s.token, json={"email": email, "role": role})

    def invitations(self, s: Session, org: str) -> httpx.Response:
        return self.request("GET", f"{ORGS}/{org}/invitations", token=s.token)

    def revoke(self, s: Session, org: str, invitation: str) -> httpx.Response:
        return self.request("POST", f"{ORGS}/{org}/invitations/{invitation}/revoke", token=s.token)

    def resend(self, s: Session, org: str, invitation: str) -> httpx.Response:
        return self.request("POST", f"{ORGS}/{org}/invitations/{invitation}/resend", token=s.token)

    def accept(self, s: Session, token: str) -> httpx.Response:
        return self.request("POST", "/api/invitations/accept", token=s.token, json={"token": token})

    # -- clients, projects, time entries ("clients", "projects", "time-entries") -------------------
    def records(self, s: Session, org: str, kind: str, **params: Any) -> httpx.Response:
        return self.request("GET", f"{ORGS}/{org}/{kind}", token=s.token, params=params or None)

    def create_record(self, s: Session, org: str, kind: str, body: dict[str, Any]) -> httpx.Response:
        return self.request("POST", f"{ORGS}/{org}/{kind}", token=s.token, json=body)

    def record(self, s: Session, org: str, kind: str, record: str) -> httpx.Response:
        return self.request("GET", f"{ORGS}/{org}/{kind}/{record}", token=s.token)

    def update_record(self, s: Session, org: str, kind: str, record: str, body: dict[str, Any]) -> httpx.Response:
        return self.request("PATCH", f"{ORGS}/{org}/{kind}/{record}", token=s.token, json=body)

    def delete_record(self, s: Session, org: str, kind: str, record: str) -> httpx.Response:
        return self.request("DELETE", f"{ORGS}/{org}/{kind}/{record}", token=s.token)
