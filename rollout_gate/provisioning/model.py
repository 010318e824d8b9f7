"""What provisioning creates, and how it is named: everything carries the run's prefix."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from rollout_gate.api.client import Session
from rollout_gate.errors import HarnessError

ROLES = ("owner", "admin", "member", "viewer")
# Prefix of everything any run provisions (RunContext.prefix starts with it): what a sweep matches.
RUN_PREFIX_ROOT = "rg-test-"


class ProvisioningError(HarnessError):
    """Provisioning or cleanup failed; the message names what and never carries a secret."""


def like_pattern(prefix: str) -> str:
    """A LIKE pattern matching everything that starts with `prefix` (its own % and _ escaped)."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


@dataclass
class Naming:
    """Unique names under one prefix: `<prefix><label>-<n>` for organizations, the same @domain for emails."""

    prefix: str
    email_domain: str
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    def name(self, label: str) -> str:
        return f"{self.prefix}{label}-{next(self._counter)}"

    def email(self, label: str) -> str:
        return f"{self.name(label)}@{self.email_domain}".lower()


@dataclass
class TestUser:
    __test__ = False  # a provisioned thing, not a pytest test class

    email: str
    password: str = field(repr=False)
    id: str
    session: Session | None = field(default=None, repr=False)


@dataclass
class TestOrg:
    __test__ = False  # a provisioned thing, not a pytest test class

    id: str
    name: str
    owner: TestUser
    # user id -> role, as provisioned
    roles: dict[str, str] = field(default_factory=dict)


@dataclass
class TestInvitation:
    __test__ = False  # a provisioned thing, not a pytest test class

    id: str
    org: TestOrg
    email: str
    role: str
    token: str = field(repr=False)
    state: str = "pending"  # pending | expired | revoked
