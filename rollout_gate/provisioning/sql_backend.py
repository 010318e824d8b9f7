"""Provisioning through SQL templates from the environment (`provisioning.sql`), on the admin DSN."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from rollout_gate import db
from rollout_gate.provisioning.config import ProvisioningSql
from rollout_gate.provisioning.model import ProvisioningError, TestOrg, TestUser

INVITATION_TTL = timedelta(days=7)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def password_hash(password: str) -> str:
    """The reference app's stored format; templates for other schemas may hash %(password)s in SQL instead."""
    from rollout_gate.reference_app.passwords import hash_password

    return hash_password(password)


class SqlRunner:
    """Runs one named template per transaction, on one autocommit connection opened on first use."""

    def __init__(self, dsn: str, templates: ProvisioningSql, *, connect_timeout: float = 10) -> None:
        self.dsn = dsn
        self.templates = templates
        self.connect_timeout = connect_timeout
        self._conn: psycopg.Connection[Any] | None = None

    @property
    def conn(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            try:
                self._conn = db.connect(self.dsn, connect_timeout=self.connect_timeout)
            except psycopg.OperationalError as exc:
                raise ProvisioningError(f"cannot connect for provisioning: {_line(exc)}") from None
        return self._conn

    def run(self, name: str, params: dict[str, Any]) -> Any:
        """Run template `name`; its first column of the first row, if it returns rows."""
        query = getattr(self.templates, name)
        try:
            with self.conn.transaction():
                cur = self.conn.execute(query, params)
                row = cur.fetchone() if cur.description else None
        except psycopg.Error as exc:
            raise ProvisioningError(f"provisioning.sql.{name} failed: {_line(exc)}") from None
        return None if row is None else row[0]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class SqlBackend:
    def __init__(self, runner: SqlRunner) -> None:
        self.sql = runner

    def create_user(self, email: str, password: str) -> TestUser:
        params = {"email": email, "password": password, "password_hash": password_hash(password)}
        user_id = self.sql.run("create_user", params)
        return TestUser(email=email, password=password, id=str(user_id))

    def create_org(self, owner: TestUser, name: str) -> str:
        org_id = str(self.sql.run("create_organization", {"name": name, "owner_id": owner.id}))
        self.sql.run("add_membership", {"organization_id": org_id, "user_id": owner.id, "role": "owner"})
        return org_id

    def add_member(self, org: TestOrg, user: TestUser, role: str) -> None:
        self.sql.run("add_membership", {"organization_id": org.id, "user_id": user.id, "role": role})

    def invite(self, org: TestOrg, inviter: TestUser, email: str, role: str) -> tuple[str, str]:
        token = secrets.token_urlsafe(32)
        params = {
            "organization_id": org.id,
            "email": email,
            "role": role,
            "token_hash": token_hash(token),
            "invited_by": inviter.id,
            "expires_at": datetime.now(UTC) + INVITATION_TTL,
            "revoked_at": None,
        }
        return str(self.sql.run("create_invitation", params)), token

    def revoke(self, org: TestOrg, inviter: TestUser, invitation_id: str) -> None:
        self.sql.run("revoke_invitation", {"invitation_id": invitation_id})

    def create_record(self, org: TestOrg, user: TestUser, kind: str, values: dict[str, Any]) -> str:
        template = {"clients": "create_client", "projects": "create_project", "time-entries": "create_time_entry"}[kind]
        params = {"organization_id": org.id, "user_id": user.id, "name": None, "client_id": None, "note": None}
        params.update(values)
        return str(self.sql.run(template, params))

    def delete_org(self, org: TestOrg) -> None:
        """Nothing per object: cleanup() deletes by prefix."""

    def delete_user(self, user: TestUser) -> None:
        """Nothing per object: cleanup() deletes by prefix."""


def _line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
