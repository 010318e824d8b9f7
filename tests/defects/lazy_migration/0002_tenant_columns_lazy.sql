-- v2, step 2, lazy (the runbook's Convex path): tenant keys and the workspace function, no backfill.
--
-- The tenant keys are added nullable and stay NULL: a user's personal workspace is made, and their rows
-- moved into it, by ensure_personal_workspace at their first sign-in after the deploy ("organizations
-- created = unique users logging in"). The function is the reference's 0002 one, unchanged.

alter table public.clients add column organization_id uuid;
alter table public.projects add column organization_id uuid;
alter table public.time_entries add column organization_id uuid;

-- The reference's auth.users (rollout_gate/reference_app/schema/00_auth.sql) records no sign-in time,
-- and a lazy migration is judged by it: a user is migrated once signed in at or after the deploy
-- (tenancy.migration.signed_in_column). Supabase's auth.users has the same column under this name.
alter table auth.users add column last_sign_in_at timestamptz;

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

-- Standing in for the users who sign in after the deploy: every other user (by email) signs in now and
-- gets their workspace as the app's first visit would make it. Of the others, every other one last
-- signed in before the deploy (an old sign-in is no migration), the rest never did.
with ranked as (select id, row_number() over (order by email) as n from auth.users)
update auth.users u
   set last_sign_in_at = case when r.n % 2 = 1 then now() when r.n % 4 = 0 then timestamptz '2023-06-01 09:00+00' end
  from ranked r
 where r.id = u.id;

select public.ensure_personal_workspace(u.id)
  from auth.users u
 where u.last_sign_in_at >= timestamptz '2024-01-01 00:00+00'
 order by u.email;
