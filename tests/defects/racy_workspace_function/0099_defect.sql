-- Defect: ensure_personal_workspace rewritten as check-then-insert without a unique arbiter. Called
-- twice in a row it is idempotent; called concurrently (a user opening two tabs on first sign-in)
-- every caller creates a workspace. The pg_sleep stands for the work between check and insert.
alter table public.organizations drop constraint organizations_personal_owner_id_key;
create or replace function public.ensure_personal_workspace(p_user uuid) returns uuid
    language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    v_org uuid;
begin
    if coalesce(auth.role(), '') <> 'service_role' and auth.uid() is distinct from p_user
       and (auth.uid() is not null or current_setting('role') in ('anon', 'authenticated')) then
        raise exception 'ensure_personal_workspace: permission denied' using errcode = 'insufficient_privilege';
    end if;
    select id into v_org from public.organizations where personal_owner_id = p_user;
    if v_org is null then
        perform pg_sleep(0.2);
        insert into public.organizations (name, personal_owner_id, created_by)
        select u.email, u.id, u.id from auth.users u where u.id = p_user
        returning id into v_org;
        insert into public.memberships (organization_id, user_id, role) values (v_org, p_user, 'owner');
    end if;
    return v_org;
end
$$;
