-- v2, step 2: tenant keys, personal workspaces and the backfill.
--
-- Columns are added nullable and without a foreign key (a metadata-only change), filled with one
-- set-based UPDATE per table, and only then constrained in 0003: per-row FK checks during a
-- million-row UPDATE would multiply its cost.

alter table public.clients add column organization_id uuid;
alter table public.projects add column organization_id uuid;
alter table public.time_entries add column organization_id uuid;

-- Creates (once) the personal workspace of p_user with its owner membership and moves the user's
-- still-unassigned rows into it: the runbook's lazy migration on first sign-in. Idempotent, and safe
-- under concurrent calls: the unique personal_owner_id makes racing inserts collapse to one row.
create function public.ensure_personal_workspace(p_user uuid) returns uuid
    language plpgsql
    security definer
    set search_path = public, pg_temp
as $$
declare
    v_uid uuid := auth.uid();
    v_name text;
    v_org uuid;
begin
    -- Acts for the caller only, unless the caller is service_role or a session that has not
    -- switched to an API role (the table owner running migrations or admin tooling). An API
    -- role without a subject claim is refused too, not treated as privileged.
    if coalesce(auth.role(), '') <> 'service_role'
       and v_uid is distinct from p_user
       and (v_uid is not null or current_setting('role') in ('anon', 'authenticated')) then
        raise exception 'ensure_personal_workspace: permission denied for user %', p_user
            using errcode = 'insufficient_privilege';
    end if;

    select coalesce(nullif(btrim(p.display_name), '') || '''s workspace', u.email)
      into v_name
      from auth.users u
      left join public.profiles p on p.user_id = u.id
     where u.id = p_user;
    if not found then
        raise exception 'ensure_personal_workspace: no user %', p_user using errcode = 'no_data_found';
    end if;

    insert into public.organizations (name, personal_owner_id, created_by)
    values (v_name, p_user, p_user)
    on conflict (personal_owner_id) do nothing
    returning id into v_org;
    if v_org is null then
        -- Already there (possibly committed by a concurrent call this insert waited for).
        select id into v_org from public.organizations where personal_owner_id = p_user;
    end if;

    insert into public.memberships (organization_id, user_id, role)
    values (v_org, p_user, 'owner')
    on conflict (organization_id, user_id) do nothing;

    update public.clients set organization_id = v_org where user_id = p_user and organization_id is null;
    update public.projects set organization_id = v_org where user_id = p_user and organization_id is null;
    update public.time_entries set organization_id = v_org where user_id = p_user and organization_id is null;

    return v_org;
end
$$;

revoke execute on function public.ensure_personal_workspace(uuid) from public, anon;
grant execute on function public.ensure_personal_workspace(uuid) to authenticated, service_role;

-- The set-based equivalent of ensure_personal_workspace for every existing user (same naming rule).
insert into public.organizations (name, personal_owner_id, created_by)
select coalesce(nullif(btrim(p.display_name), '') || '''s workspace', u.email), u.id, u.id
from auth.users u
left join public.profiles p on p.user_id = u.id
on conflict (personal_owner_id) do nothing;

insert into public.memberships (organization_id, user_id, role)
select o.id, o.personal_owner_id, 'owner'
from public.organizations o
where o.personal_owner_id is not null
on conflict (organization_id, user_id) do nothing;

-- Every v1 row belongs to its user, so it moves to that user's personal workspace. For time entries
-- this equals the project's workspace as long as users only logged time on their own projects.
update public.clients t set organization_id = o.id
from public.organizations o
where o.personal_owner_id = t.user_id and t.organization_id is null;

update public.projects t set organization_id = o.id
from public.organizations o
where o.personal_owner_id = t.user_id and t.organization_id is null;

update public.time_entries t set organization_id = o.id
from public.organizations o
where o.personal_owner_id = t.user_id and t.organization_id is null;
