"""Users of two tenants for the declared-resource probes: a CSV `email,secret,tenant[,role]` (`api.tenant_users`).

The secret is whatever `target.auth` signs in with (a password, or a pre-issued token); users sign in
only through `rollout_gate.auth.sign_in`. Tenant A is the first tenant in the file (or `tenant_a`),
B the second (or `tenant_b`); a tenant's first row is the user the harness acts as for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rollout_gate.api.client import ApiClient
from rollout_gate.api.config import TenantUsersConfig
from rollout_gate.api.resources import Actor
from rollout_gate.auth import SignInError, sign_in
from rollout_gate.csv_rows import read_rows

if TYPE_CHECKING:
    from rollout_gate.config.models import AuthConfig

COLUMNS = ("email", "secret", "tenant")


@dataclass(frozen=True)
class TenantUser:
    email: str
    secret: str = field(repr=False)
    tenant: str
    role: str | None = None


@dataclass(frozen=True)
class TenantUsers:
    """The CSV's users, and the two tenants the probes use."""

    users: tuple[TenantUser, ...]
    a: str
    b: str

    def owner(self, tenant: str) -> TenantUser:
        return next(u for u in self.users if u.tenant == tenant)

    def with_role(self, tenant: str, role: str) -> TenantUser | None:
        return next((u for u in self.users if u.tenant == tenant and u.role == role), None)


def read_tenant_users(path: Path, config: TenantUsersConfig) -> TenantUsers:
    """The users of `path`; a ValueError names the file and what to change (never a secret)."""
    rows = read_rows(path, "api.tenant_users.csv", required=COLUMNS, header="email,secret,tenant[,role]")
    users = tuple(
        TenantUser(r["email"].strip(), r["secret"], r["tenant"].strip(), (r.get("role") or "").strip() or None)
        for r in rows
        if (r.get("email") or "").strip() and r.get("secret") and (r.get("tenant") or "").strip()
    )
    tenants = list(dict.fromkeys(u.tenant for u in users))
    a = config.tenant_a or (tenants[0] if tenants else None)
    b = config.tenant_b or next((t for t in tenants if t != a), None)
    if a is None or b is None or a == b:
        raise ValueError(f"api.tenant_users.csv: {path} needs users of two tenants (found {len(tenants)})")
    for name, tenant in (("tenant_a", a), ("tenant_b", b)):
        if tenant not in tenants:
            raise ValueError(f"api.tenant_users.{name}: {path} has no user of tenant {tenant}")
    return TenantUsers(users, a, b)


def csv_path(config: TenantUsersConfig, base_dir: Path) -> Path | None:
    """The CSV's path (relative paths against the folder holding the environment file's environments/ dir)."""
    if not config.csv:
        return None
    path = Path(config.csv).expanduser()
    return path if path.is_absolute() else base_dir / path


class DeclaredTenants:
    """Tenants A and B signed in (each tenant's first user), and users by role in A, signed in once each."""

    def __init__(self, users: TenantUsers, client: ApiClient, auth: AuthConfig) -> None:
        self.users, self.client, self.auth = users, client, auth
        self._sessions: dict[str, Actor] = {}

    def _actor(self, label: str, user: TenantUser) -> Actor:
        if user.email not in self._sessions:
            try:
                session = sign_in(self.auth, self.client, user.email, user.secret)
            except SignInError as exc:
                raise ValueError(f"api.tenant_users: {exc}") from None
            self._sessions[user.email] = Actor(label, session, user.tenant)
        return self._sessions[user.email]

    def a(self) -> Actor:
        return self._actor("A", self.users.owner(self.users.a))

    def b(self) -> Actor:
        return self._actor("B", self.users.owner(self.users.b))

    def role(self, role: str) -> Actor | None:
        """The user of `role` in tenant A (the CSV's role column), signed in; None if the CSV names none."""
        user = self.users.with_role(self.users.a, role)
        return self._actor(f"A's {role}", user) if user is not None else None
