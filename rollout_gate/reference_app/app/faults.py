"""Fault flags: each removes exactly one protection, so the harness's suites can be shown to catch it.

Off by default. Only the local target sets them (from `ROLLOUT_APP_FAULTS=flag1,flag2`); an unknown
name is an error, never silently ignored, so a typo cannot make a "defective" run clean.
`flag@SECONDS` removes the protection only SECONDS after the app started (parsed its settings), so a
deploy that goes bad in the middle of a watch window can be rehearsed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from enum import StrEnum

ENV_VAR = "ROLLOUT_APP_FAULTS"


class Fault(StrEnum):
    # GET one project by id: no membership check, and read through the service-role ("admin") client,
    # the classic bug that RLS cannot stop because the admin client bypasses it.
    SKIP_PROJECT_AUTHZ = "skip_project_authz"
    # Invitation acceptance does not compare the invited email with the signed-in user's.
    INVITE_ANY_EMAIL = "invite_any_email"
    # Invitation acceptance does not check that the invitation was already accepted.
    REUSABLE_INVITES = "reusable_invites"
    # Invitation acceptance does not check the expiry.
    EXPIRED_INVITES_ACCEPTED = "expired_invites_accepted"
    # Invitation acceptance does not check revocation.
    REVOKED_INVITES_ACCEPTED = "revoked_invites_accepted"
    # The app lets viewers write (RLS still refuses: the app answers 500 instead of 403).
    VIEWER_CAN_WRITE = "viewer_can_write"
    # Members may invite (invitations are managed through the admin client: nothing else stops it).
    MEMBER_CAN_INVITE = "member_can_invite"
    # The app lets admins delete an organization (RLS still refuses: 500 instead of 403).
    ADMIN_CAN_DELETE_ORG = "admin_can_delete_org"
    # The last owner may leave (or be removed), orphaning the organization.
    LAST_OWNER_CAN_LEAVE = "last_owner_can_leave"
    # The dashboard lists projects and entries of every organization of the user, not the selected one.
    DASHBOARD_IGNORES_ORG = "dashboard_ignores_org"
    # Identity applied with a session-level SET on a connection that concurrent requests share, instead
    # of SET LOCAL inside each request's transaction: one request can run with another's identity. Only
    # concurrency shows it (a single user in sequence always finds its own identity in place).
    SESSION_LEVEL_SET = "session_level_set"
    # Listing projects takes 600 ms longer (a missing index, a slow query): p95 breaks under load.
    SLOW_PROJECTS = "slow_projects"
    # Listing projects answers 500 (a broken deploy of one endpoint): the error rate breaks under load.
    FAILING_PROJECTS = "failing_projects"
    # /health/auth fails (a rotated signing secret the app did not pick up): 503.
    AUTH_HEALTH_BROKEN = "auth_health_broken"
    # Sign-in does not check the password (an auth provider misconfiguration).
    ANY_PASSWORD = "any_password"
    # The dashboard page answers 500 (a template broken by the new schema).
    DASHBOARD_BROKEN = "dashboard_broken"
    # /metrics is gone (the exporter was left out of the new build): monitoring is blind.
    NO_METRICS = "no_metrics"
    # Not a protection but the runbook's first worry: the API lists only rows created after the
    # organization existed, so a migrated user's history vanishes from their personal workspace.
    HIDE_PRE_MIGRATION_DATA = "hide_pre_migration_data"
    # The dashboard page takes 3.5 s longer to render (an unindexed query behind it): page_load_time breaks.
    SLOW_DASHBOARD = "slow_dashboard"
    # (httponly) The admin stats route (GET /admin/stats) counts one personal workspace fewer than there are
    # users, as the stats of a lazy migration that skipped a user would: invariants.http must say NO_GO.
    STATS_DISAGREE = "stats_disagree"


class Faults(frozenset[Fault]):
    """The set of faults; `Fault.X in faults` reads as the condition it is (false until a delayed one starts)."""

    # Fault -> seconds after `_origin` (time.monotonic() at parse) from which it is active.
    _delays: Mapping[Fault, float]
    _origin: float

    @classmethod
    def parse(cls, text: str | None, *, now: float | None = None) -> Faults:
        parts = [part.strip() for part in (text or "").split(",") if part.strip()]
        known = {f.value for f in Fault}
        names: list[str] = []
        delays: dict[Fault, float] = {}
        unknown: list[str] = []
        for part in parts:
            name, sep, delay = part.partition("@")
            name = name.strip()
            if name not in known:
                unknown.append(name)
                continue
            names.append(name)
            if sep:
                try:
                    seconds = float(delay)
                except ValueError:
                    seconds = -1.0
                if not 0 <= seconds < 86_400:
                    raise ValueError(f"{ENV_VAR}: {part}: the delay must be a number of seconds (flag@SECONDS)")
                delays[Fault(name)] = seconds
        if unknown:
            listed, choices = ", ".join(unknown), ", ".join(sorted(known))
            raise ValueError(f"{ENV_VAR}: unknown fault flag(s) {listed} (known: {choices})")
        return cls.of(names, delays=delays, now=now)

    @classmethod
    def of(
        cls,
        faults: Iterable[Fault | str] = (),
        *,
        delays: Mapping[Fault, float] | None = None,
        now: float | None = None,
    ) -> Faults:
        made = cls(Fault(f) for f in faults)
        made._delays = dict(delays or {})
        made._origin = time.monotonic() if now is None else now
        return made

    def __contains__(self, item: object) -> bool:
        if not super().__contains__(item):
            return False
        delay = getattr(self, "_delays", {}).get(item)
        return delay is None or time.monotonic() >= self._origin + delay

    def spec(self) -> str:
        """The flags as `ROLLOUT_APP_FAULTS` takes them, delays included (what the app process is given)."""
        delays = getattr(self, "_delays", {})
        return ",".join(f"{f}@{delays[f]:g}" if f in delays else str(f) for f in sorted(self))

    def __str__(self) -> str:
        return self.spec() or "none"


NO_FAULTS = Faults()
