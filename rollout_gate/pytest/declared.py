"""Pytest glue for `smoke.endpoints`: one test per declared endpoint, signed in as the endpoint asks."""

from __future__ import annotations

from typing import Any

import pytest

from rollout_gate.api.client import Session, expect
from rollout_gate.api.reference import ReferenceApi
from rollout_gate.pytest.stash import session_key
from rollout_gate.smoke.config import SmokeEndpoint
from rollout_gate.smoke.runner import Resolver, run_endpoint


def declared_params(config: pytest.Config) -> list[Any]:
    """One param per declared endpoint; those needing a provisioned user are destructive."""
    rollout = config.stash.get(session_key, None)
    endpoints = rollout.loaded.env.smoke.endpoints if rollout is not None else ()
    if not endpoints:
        # The environment file declares none: listed as not applicable, never a skipped (inconclusive) feeder.
        none = pytest.mark.not_applicable("no smoke.endpoints declared in the environment file")
        return [pytest.param(None, id="none-declared", marks=none)]
    return [
        pytest.param(e, id=e.name, marks=[pytest.mark.destructive] if e.auth == "test_user" else []) for e in endpoints
    ]


def resolvers(api: ReferenceApi) -> dict[str, Resolver]:
    def user_id(session: Session) -> str:
        if not session.user_id:
            raise ValueError("{user_id}: the sign-in response names no user id")
        return session.user_id

    return {
        "user_id": user_id,
        "email": lambda session: session.email,
        "personal_org_id": lambda session: str(expect(api.ensure_personal_workspace(session), 200)["id"]),
    }


def run_declared(endpoint: SmokeEndpoint, api: ReferenceApi, request: pytest.FixtureRequest) -> list[str]:
    session: Session | None = None
    if endpoint.auth == "existing_user":
        session = request.getfixturevalue("rollout_existing_session")
    elif endpoint.auth == "test_user":
        provisioner = request.getfixturevalue("rollout_provisioner")
        session = provisioner.session(provisioner.user("smoke"))
    try:
        return run_endpoint(api, endpoint, session, resolvers(api))
    except ValueError as exc:
        return [f"{endpoint.name}: {exc}"]
