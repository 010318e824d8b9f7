"""The `provisioning:` block of an environment file: how test data gets onto the target.

`via: api` goes through the target's API (sign-up, organizations, invitations); `via: sql` runs the
templates below on `target.database_url`; `auto` takes the API when the environment has a base URL.
Templates use psycopg's `%(name)s` parameters. The defaults fit the reference app's schema; a team
whose schema differs overrides them in its environment file.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProvisioningSql(_Strict):
    # %(email)s, %(password)s, %(password_hash)s (pbkdf2_sha256, the reference app's format) -> id
    create_user: str = (
        "insert into auth.users (email, encrypted_password) values (%(email)s, %(password_hash)s) returning id"
    )
    # %(name)s, %(owner_id)s -> id. The owner's membership is added with add_membership afterwards.
    create_organization: str = (
        "insert into public.organizations (name, created_by) values (%(name)s, %(owner_id)s) returning id"
    )
    # %(organization_id)s, %(user_id)s, %(role)s
    add_membership: str = (
        "insert into public.memberships (organization_id, user_id, role) "
        "values (%(organization_id)s, %(user_id)s, %(role)s) "
        "on conflict (organization_id, user_id) do update set role = excluded.role"
    )
    # %(organization_id)s, %(email)s, %(role)s, %(token_hash)s (sha256 hex), %(invited_by)s,
    # %(expires_at)s, %(revoked_at)s -> id
    create_invitation: str = (
        "insert into public.invitations (organization_id, email, role, token_hash, invited_by, expires_at, "
        "revoked_at) values (%(organization_id)s, %(email)s, %(role)s, %(token_hash)s, %(invited_by)s, "
        "%(expires_at)s, %(revoked_at)s) returning id"
    )
    # %(invitation_id)s: no API can backdate an invitation, so even `via: api` uses this one.
    expire_invitation: str = (
        "update public.invitations set expires_at = now() - interval '1 day' where id = %(invitation_id)s"
    )
    # %(invitation_id)s
    revoke_invitation: str = "update public.invitations set revoked_at = now() where id = %(invitation_id)s"
    # %(organization_id)s, %(user_id)s, %(name)s -> id
    create_client: str = (
        "insert into public.clients (organization_id, user_id, name) "
        "values (%(organization_id)s, %(user_id)s, %(name)s) returning id"
    )
    # ... plus %(client_id)s -> id
    create_project: str = (
        "insert into public.projects (organization_id, user_id, client_id, name) "
        "values (%(organization_id)s, %(user_id)s, %(client_id)s, %(name)s) returning id"
    )
    # %(organization_id)s, %(user_id)s, %(project_id)s, %(note)s -> id
    create_time_entry: str = (
        "insert into public.time_entries (organization_id, user_id, project_id, started_at, ended_at, note) "
        "values (%(organization_id)s, %(user_id)s, %(project_id)s, now() - interval '2 hours', "
        "now() - interval '1 hour', %(note)s) returning id"
    )
    # Cleanup and `rollout-gate sweep`, in order: %(pattern)s is a LIKE pattern for the run prefix
    # (`rg-test-<run>-<worker>-%`, or `rg-test-%` for a sweep), %(older_than)s an interval.
    # Organizations first: deleting them cascades to memberships, invitations and tenant rows.
    cleanup: tuple[str, ...] = (
        "delete from public.organizations where name like %(pattern)s "
        "and created_at <= now() - %(older_than)s::interval",
        "delete from auth.users where email like %(pattern)s and created_at <= now() - %(older_than)s::interval",
    )
    # Each returns (what, count) for the rows a pattern matches: how leftovers are counted.
    count: tuple[str, ...] = (
        "select 'organizations', count(*) from public.organizations where name like %(pattern)s",
        "select 'users', count(*) from auth.users where email like %(pattern)s",
        "select 'invitations', count(*) from public.invitations where email like %(pattern)s",
        "select 'memberships', count(*) from public.memberships m join auth.users u on u.id = m.user_id "
        "where u.email like %(pattern)s",
    )


class ProvisioningConfig(_Strict):
    via: Literal["auto", "api", "sql"] = "auto"
    # Test users are `<prefix><label>@<email_domain>`; `.test` is reserved and never delivers.
    email_domain: str = Field(default="example.test", pattern=r"^[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
    sql: ProvisioningSql = ProvisioningSql()
