"""The virtual user: a real member of some tenants, doing the app's typical mix, checking every response.

Imported only inside a Locust process (Locust monkey-patches the standard library on import).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from locust import FastHttpUser, between, task
from locust.exception import StopUser

from rollout_gate.auth import SignInError, preissued_session, session_from, sign_in_request
from rollout_gate.config.models import AuthConfig
from rollout_gate.load.config import LoadConfig, LoadTask
from rollout_gate.load.leaks import foreign_tenants
from rollout_gate.load.observation import LEAK_PREFIX
from rollout_gate.load.pool import NOTE_VAR, Member, MemberPool
from rollout_gate.load.resource_mix import ResourceTask, call_for, created_id, delete_call, listed_ids

LOGIN_NAME = "sign-in"
log = logging.getLogger("rollout_gate.load")


@dataclass
class LoadPlan:
    """What every virtual user of this process shares (set by the init listener)."""

    config: LoadConfig
    pool: MemberPool
    # Why a host may not be loaded (None: it may); the environment's rule, applied again by every user.
    host_problem: Callable[[str | None], str | None]
    # How the members sign in (`target.auth`).
    auth: AuthConfig = field(default_factory=AuthConfig)
    # The mix over the declared resources (`api.resources`); when not empty it replaces `config.tasks`.
    resource_tasks: tuple[ResourceTask, ...] = ()
    _next: itertools.count[int] = field(default_factory=itertools.count)
    _markers: itertools.count[int] = field(default_factory=itertools.count)

    def marker(self) -> str:
        """A unique, run-prefixed marker for what a virtual user creates (found by the run prefix if left over)."""
        return f"{os.environ.get(NOTE_VAR, 'rg-test-load-')}load-{os.getpid()}-{next(self._markers)}"

    def next_member(self) -> Member:
        return self.pool.members[next(self._next) % len(self.pool.members)]


class TenantMember(FastHttpUser):
    # Replaced from the environment's `load:` section by the init listener.
    plan: LoadPlan | None = None
    wait_time = between(0.0, 0.2)
    abstract = False

    def on_start(self) -> None:
        assert self.plan is not None, "the rollout init listener did not run"
        # The last line of defence (workers included): whatever set the host, no request goes elsewhere.
        problem = self.plan.host_problem(self.host)
        if problem:
            log.error("rollout-gate load: user stopped before its first request: %s", problem)
            raise StopUser()
        self.member = self.plan.next_member()
        self.headers: dict[str, str] = {}
        self.org_ids: tuple[str, ...] = ()
        self.projects: dict[str, str | None] = {}
        # Declared resources: ids seen per (resource, tenant) for reads; what this user created, to delete.
        self.seen: dict[tuple[str, str], list[str]] = {}
        self.created: list[tuple[ResourceTask, str, str]] = []
        self._sign_in()

    def on_stop(self) -> None:
        """Delete, as this user, what it created in the declared resources."""
        for chosen, tenant, item in self.created:
            call = delete_call(chosen.resource, tenant, item)
            with self.client.request(call.method, call.path, headers={**self.headers, **call.headers},
                                     name=call.name, catch_response=True) as resp:  # fmt: skip
                if not (200 <= resp.status_code < 300 or resp.status_code == 404):
                    resp.failure(f"deleting {chosen.resource.name} {item} answered {resp.status_code}")
        self.created.clear()

    def _sign_in(self) -> bool:
        """Sign in through the environment's provider (`target.auth.kind`), with Locust's own client."""
        assert self.plan is not None
        auth, email, secret = self.plan.auth, self.member.email, self.member.password
        try:
            session = preissued_session(auth, email, secret)  # bearer_tokens: the pool's second column
            call = sign_in_request(auth, email, secret) if session is None else None
        except SignInError as exc:
            log.error("rollout-gate load: user stopped: %s", exc)  # a setup problem: no retry can fix it
            raise StopUser() from None
        if call is not None:
            content, headers = call.encoded()
            kwargs: dict[str, Any] = {"data": content, "headers": headers, "name": LOGIN_NAME, "catch_response": True}
            with self.client.request(call.method, call.url_with_query(), **kwargs) as resp:
                if resp.status_code != 200:
                    resp.failure(f"{call.provider} sign-in answered {resp.status_code}")
                    return False
                try:
                    session = session_from(auth, email, _json(resp.text))
                except SignInError as exc:
                    resp.failure(str(exc))
                    return False
        assert session is not None
        self.headers = session.headers()
        self.org_ids = self.member.org_ids or self._my_organizations()
        return bool(self.org_ids)

    def _my_organizations(self) -> tuple[str, ...]:
        assert self.plan is not None
        path = self.plan.config.organizations_path
        with self.client.get(path, headers=self.headers, name="organizations", catch_response=True) as resp:
            items = _items(resp.text) if resp.status_code == 200 else []
            if not items:
                resp.failure(f"{path} answered {resp.status_code} with no organizations")
        return tuple(str(i["id"]).lower() for i in items if isinstance(i, dict) and "id" in i)

    @task
    def typical_request(self) -> None:
        assert self.plan is not None
        if not self.org_ids and not self._sign_in():
            return  # counted as a login failure; the user tries again next time
        if self.plan.resource_tasks:
            self._resource_request(random.choice(self.org_ids))
            return
        tasks = self.plan.config.tasks
        chosen = random.choices(tasks, weights=[t.weight for t in tasks])[0]
        org_id = random.choice(self.org_ids)
        body = chosen.json_body
        if chosen.kind == "log_time":
            project = self._a_project(org_id)
            if project is None:
                return  # an organization without projects has nowhere to log time
            end = datetime.now(UTC)
            note = os.environ.get(NOTE_VAR, "rg-test-load-")
            body = {"project_id": project, "started_at": (end - timedelta(minutes=30)).isoformat(),
                    "ended_at": end.isoformat(), "note": f"{note}load"}  # fmt: skip
        self._request(chosen, org_id, body)

    def _resource_request(self, tenant: str) -> None:
        """One operation of the declared mix; a read asks for an id this user listed or created."""
        assert self.plan is not None
        tasks = self.plan.resource_tasks
        if self.member.read_only:
            tasks = tuple(t for t in tasks if t.operation != "create") or tasks
        chosen = random.choices(tasks, weights=[t.weight for t in tasks])[0]
        if chosen.operation == "create" and self.member.read_only:
            return  # a read-only member with nothing but creates in the mix has nothing to do
        key = (chosen.resource.name, tenant)
        item = None
        if chosen.operation == "read":
            if not self.seen.get(key):
                # Nothing listed yet: list first (counted under the list's name), then read next time.
                chosen = next((t for t in tasks if t.resource is chosen.resource and t.operation == "list"), chosen)
                if chosen.operation == "read":
                    return
            else:
                item = random.choice(self.seen[key])
        marker = self.plan.marker() if chosen.operation == "create" else ""
        call = call_for(chosen, tenant, item=item, marker=marker)
        kwargs: dict[str, Any] = {
            "headers": {**self.headers, **call.headers},
            "name": call.name,
            "catch_response": True,
        }
        if call.params:
            kwargs["params"] = call.params
        if call.json is not None:
            kwargs["json"] = call.json
        with self.client.request(call.method, call.path, **kwargs) as resp:
            if not 200 <= resp.status_code < 300:
                resp.failure(f"{call.name} answered {resp.status_code}")
                return
            payload = _json(resp.text)
            if chosen.operation == "list":
                self.seen[key] = listed_ids(chosen.resource, payload)[:50]
            elif chosen.operation == "create":
                made = created_id(chosen.resource, payload)
                if made is None:
                    resp.failure(f"{call.name}: the response has no {chosen.resource.id_field}")
                    return
                self.created.append((chosen, tenant, made))
                self.seen.setdefault(key, []).append(made)
            self._check_leaks(resp, call.name)

    def _check_leaks(self, resp: Any, name: str) -> None:
        assert self.plan is not None
        text = resp.text or ""
        leaked = foreign_tenants(text, _json(text), mine=set(self.org_ids), known_tenants=self.plan.pool.tenants,
                                 tenant_fields=self.plan.config.tenant_fields)  # fmt: skip
        if leaked:
            sample = ", ".join(sorted(leaked)[:3])
            resp.failure(f"{LEAK_PREFIX} {name} for {self.member.email} showed tenant(s) {sample}")

    def _a_project(self, org_id: str) -> str | None:
        assert self.plan is not None
        if org_id not in self.projects:
            path = self.plan.config.projects_path.replace("{org_id}", org_id)
            resp = self.client.get(path, headers=self.headers, name="list projects")
            items = _items(resp.text) if resp.status_code == 200 else []
            self.projects[org_id] = str(items[0]["id"]) if items and isinstance(items[0], dict) else None
        return self.projects[org_id]

    def _request(self, chosen: LoadTask, org_id: str, body: dict[str, object] | None) -> None:
        assert self.plan is not None
        path = chosen.path.replace("{org_id}", org_id)
        kwargs: dict[str, Any] = {"headers": self.headers, "name": chosen.name, "catch_response": True}
        if body is not None:
            kwargs["json"] = body
        with self.client.request(chosen.method, path, **kwargs) as resp:
            if resp.status_code not in chosen.expect_status:
                resp.failure(f"{chosen.method} {chosen.name} answered {resp.status_code}")
                return
            text = resp.text or ""
            leaked = foreign_tenants(
                text,
                _json(text),
                mine=set(self.org_ids),
                known_tenants=self.plan.pool.tenants,
                tenant_fields=self.plan.config.tenant_fields,
            )
            if leaked:
                sample = ", ".join(sorted(leaked)[:3])
                resp.failure(f"{LEAK_PREFIX} {chosen.name} for {self.member.email} showed tenant(s) {sample}")


def _json(text: str | None) -> Any:
    try:
        return json.loads(text or "")
    except ValueError:
        return {}


def _items(text: str | None) -> list[Any]:
    payload = _json(text)
    items = payload.get("items") if isinstance(payload, dict) else None
    return items if isinstance(items, list) else []
