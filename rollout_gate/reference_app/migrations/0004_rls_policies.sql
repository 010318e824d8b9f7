-- v2, step 4: switch authorization from "rows I own" to "rows of organizations I belong to".
--
-- The membership helpers are SECURITY DEFINER: the memberships policies need membership lookups
-- themselves, which would recurse under RLS if run with the caller's rights. They are owned by the
-- migrating role, which must be a superuser or BYPASSRLS (Supabase's `postgres` is), since RLS is
-- forced on memberships.

create function public.is_member(org uuid) returns boolean
    language sql stable security definer
    set search_path = public, pg_temp
as $$
    select exists (
        select 1 from public.memberships m
        where m.organization_id = org and m.user_id = auth.uid() and m.status = 'active'
    )
$$;

create function public.has_role(org uuid, roles text[]) returns boolean
    language sql stable security definer
    set search_path = public, pg_temp
as $$
    select exists (
        select 1 from public.memberships m
        where m.organization_id = org and m.user_id = auth.uid() and m.status = 'active'
          and m.role = any (roles)
    )
$$;

-- The caller's active organizations (with one of `roles`, or any role when null). The big tenant
-- tables use `organization_id = any (array(select member_org_ids()))`: evaluated once per query
-- and index-friendly, where is_member(organization_id) would run once per row.
create function public.member_org_ids(roles text[] default null) returns setof uuid
    language sql stable security definer
    set search_path = public, pg_temp
as $$
    select m.organization_id from public.memberships m
    where m.user_id = auth.uid() and m.status = 'active' and (roles is null or m.role = any (roles))
$$;

-- Whoever creates an organization owns it: without this, nobody could add the first membership,
-- since only owners and admins may manage memberships. Personal workspaces get theirs explicitly.
create function public.add_organization_creator() returns trigger
    language plpgsql security definer
    set search_path = public, pg_temp
as $$
begin
    insert into public.memberships (organization_id, user_id, role)
    values (new.id, new.created_by, 'owner')
    on conflict (organization_id, user_id) do nothing;
    return null;
end
$$;

create trigger organizations_creator_is_owner
    after insert on public.organizations
    for each row when (new.created_by is not null and new.personal_owner_id is null)
    execute function public.add_organization_creator();

-- Joins the signed-in user to the organization of an unexpired, unused invitation addressed to
-- their email. The token is the secret from the invitation link; only its SHA-256 (hex) is stored.
create function public.accept_invitation(p_token text) returns uuid
    language plpgsql security definer
    set search_path = public, pg_temp
as $$
declare
    v_uid uuid := auth.uid();
    v_email text;
    v_invitation public.invitations;
begin
    select u.email into v_email from auth.users u where u.id = v_uid;
    if v_email is null then
        raise exception 'accept_invitation: not signed in' using errcode = 'insufficient_privilege';
    end if;

    select * into v_invitation
      from public.invitations i
     where i.token_hash = encode(sha256(convert_to(p_token, 'UTF8')), 'hex')
       for update;
    if not found or v_invitation.accepted_at is not null or v_invitation.revoked_at is not null
       or v_invitation.expires_at <= now() then
        raise exception 'accept_invitation: invitation is not valid' using errcode = 'invalid_parameter_value';
    end if;
    if lower(v_invitation.email) <> lower(v_email) then
        raise exception 'accept_invitation: invitation is for another email'
            using errcode = 'insufficient_privilege';
    end if;

    -- An existing member keeps their role: an invitation never demotes or promotes.
    insert into public.memberships (organization_id, user_id, role)
    values (v_invitation.organization_id, v_uid, v_invitation.role)
    on conflict (organization_id, user_id) do nothing;
    update public.invitations set accepted_at = now(), accepted_by = v_uid where id = v_invitation.id;
    return v_invitation.organization_id;
end
$$;

revoke execute on function
    public.is_member(uuid), public.has_role(uuid, text[]), public.member_org_ids(text[]),
    public.add_organization_creator(), public.accept_invitation(text)
    from public, anon;
grant execute on function
    public.is_member(uuid), public.has_role(uuid, text[]), public.member_org_ids(text[]),
    public.accept_invitation(text)
    to authenticated, service_role;

-- FORCE as well: the table owner is subject to the policies too, unless it bypasses RLS.
alter table public.organizations enable row level security, force row level security;
alter table public.memberships enable row level security, force row level security;
alter table public.invitations enable row level security, force row level security;
alter table public.clients force row level security;
alter table public.projects force row level security;
alter table public.time_entries force row level security;

-- organizations: members read, anyone signed in creates, owners change and delete.
-- The creator may also read it: INSERT ... RETURNING checks the row against the SELECT policy
-- before the trigger above has made the creator a member.
create policy organizations_select_members on public.organizations
    for select to authenticated
    using (public.is_member(id) or created_by = (select auth.uid()));
-- Personal workspaces come only from ensure_personal_workspace.
create policy organizations_insert_creator on public.organizations
    for insert to authenticated
    with check (created_by = (select auth.uid()) and personal_owner_id is null);
create policy organizations_update_owners on public.organizations
    for update to authenticated
    using (public.has_role(id, '{owner}')) with check (public.has_role(id, '{owner}'));
create policy organizations_delete_owners on public.organizations
    for delete to authenticated using (public.has_role(id, '{owner}'));

-- memberships: members see who else belongs (and everyone sees their own memberships);
-- owners manage all of them, admins all but owners, so an admin cannot make anyone an owner.
create policy memberships_select_members on public.memberships
    for select to authenticated
    using (user_id = (select auth.uid()) or public.is_member(organization_id));
create policy memberships_insert_managers on public.memberships
    for insert to authenticated
    with check (public.has_role(organization_id, '{owner}')
                or (public.has_role(organization_id, '{admin}') and role <> 'owner'));
create policy memberships_update_managers on public.memberships
    for update to authenticated
    using (public.has_role(organization_id, '{owner}')
           or (public.has_role(organization_id, '{admin}') and role <> 'owner'))
    with check (public.has_role(organization_id, '{owner}')
                or (public.has_role(organization_id, '{admin}') and role <> 'owner'));
create policy memberships_delete_managers on public.memberships
    for delete to authenticated
    using (public.has_role(organization_id, '{owner}')
           or (public.has_role(organization_id, '{admin}') and role <> 'owner'));

-- invitations: owners and admins only; invitees accept through accept_invitation().
create policy invitations_select_managers on public.invitations
    for select to authenticated using (public.has_role(organization_id, '{owner,admin}'));
create policy invitations_insert_managers on public.invitations
    for insert to authenticated
    with check (public.has_role(organization_id, '{owner,admin}') and invited_by = (select auth.uid()));
create policy invitations_update_managers on public.invitations
    for update to authenticated
    using (public.has_role(organization_id, '{owner,admin}'))
    with check (public.has_role(organization_id, '{owner,admin}'));
create policy invitations_delete_managers on public.invitations
    for delete to authenticated using (public.has_role(organization_id, '{owner,admin}'));

-- Tenant data: every member reads; owners, admins and members write; viewers only read.
-- A row may only point at a client or project of its own organization, since foreign keys
-- check existence without regard to RLS.
drop policy clients_select_own on public.clients;
drop policy clients_insert_own on public.clients;
drop policy clients_update_own on public.clients;
drop policy clients_delete_own on public.clients;
drop policy projects_select_own on public.projects;
drop policy projects_insert_own on public.projects;
drop policy projects_update_own on public.projects;
drop policy projects_delete_own on public.projects;
drop policy time_entries_select_own on public.time_entries;
drop policy time_entries_insert_own on public.time_entries;
drop policy time_entries_update_own on public.time_entries;
drop policy time_entries_delete_own on public.time_entries;

create policy clients_select_members on public.clients
    for select to authenticated
    using (organization_id = any (array(select public.member_org_ids())));
create policy clients_insert_writers on public.clients
    for insert to authenticated
    with check (organization_id = any (array(select public.member_org_ids('{owner,admin,member}')))
                and user_id = (select auth.uid()));
create policy clients_update_writers on public.clients
    for update to authenticated
    using (organization_id = any (array(select public.member_org_ids('{owner,admin,member}'))))
    with check (organization_id = any (array(select public.member_org_ids('{owner,admin,member}'))));
create policy clients_delete_writers on public.clients
    for delete to authenticated
    using (organization_id = any (array(select public.member_org_ids('{owner,admin,member}'))));

create policy projects_select_members on public.projects
    for select to authenticated
    using (organization_id = any (array(select public.member_org_ids())));
create policy projects_insert_writers on public.projects
    for insert to authenticated
    with check (organization_id = any (array(select public.member_org_ids('{owner,admin,member}')))
                and user_id = (select auth.uid())
                and (client_id is null or exists (
                    select 1 from public.clients c
                    where c.id = projects.client_id and c.organization_id = projects.organization_id)));
create policy projects_update_writers on public.projects
    for update to authenticated
    using (organization_id = any (array(select public.member_org_ids('{owner,admin,member}'))))
    with check (organization_id = any (array(select public.member_org_ids('{owner,admin,member}')))
                and (client_id is null or exists (
                    select 1 from public.clients c
                    where c.id = projects.client_id and c.organization_id = projects.organization_id)));
create policy projects_delete_writers on public.projects
    for delete to authenticated
    using (organization_id = any (array(select public.member_org_ids('{owner,admin,member}'))));

create policy time_entries_select_members on public.time_entries
    for select to authenticated
    using (organization_id = any (array(select public.member_org_ids())));
create policy time_entries_insert_writers on public.time_entries
    for insert to authenticated
    with check (organization_id = any (array(select public.member_org_ids('{owner,admin,member}')))
                and user_id = (select auth.uid())
                and exists (
                    select 1 from public.projects p
                    where p.id = time_entries.project_id and p.organization_id = time_entries.organization_id));
create policy time_entries_update_writers on public.time_entries
    for update to authenticated
    using (organization_id = any (array(select public.member_org_ids('{owner,admin,member}'))))
    with check (organization_id = any (array(select public.member_org_ids('{owner,admin,member}')))
                and exists (
                    select 1 from public.projects p
                    where p.id = time_entries.project_id and p.organization_id = time_entries.organization_id));
create policy time_entries_delete_writers on public.time_entries
    for delete to authenticated
    using (organization_id = any (array(select public.member_org_ids('{owner,admin,member}'))));

-- Column-level UPDATE on organizations: personal_owner_id and created_by are not the caller's to
-- change, whatever the row policy says.
grant select, insert, delete on public.organizations to authenticated;
grant update (name, slug) on public.organizations to authenticated;
grant select, insert, update, delete on public.memberships, public.invitations to authenticated;
grant select, insert, update, delete
    on public.organizations, public.memberships, public.invitations
    to service_role;
