-- groups_textarray migration to multi-tenant: a group per department, memberships with their roles in a
-- text[] column, group_id on folders and notes, a PostgREST pre-request hook (public.check_request) that
-- refuses banned users, and policies through helpers that only answer requests the hook has checked.

create table public.groups (
    id uuid primary key default gen_random_uuid(),
    name text not null unique,
    created_at timestamptz not null default now()
);
create table public.group_members (
    group_id uuid not null references public.groups on delete cascade,
    user_id uuid not null references auth.users on delete cascade,
    roles text[] not null default '{member}',
    constraint group_members_known_roles check (roles <@ '{owner,admin,member}' and cardinality(roles) > 0),
    primary key (group_id, user_id)
);
create index group_members_user_id_idx on public.group_members (user_id);

insert into public.groups (id, name) select distinct md5('group' || department)::uuid, initcap(department) from public.profiles;
-- The department's first manager owns the group, other managers administer it.
insert into public.group_members (group_id, user_id, roles)
select md5('group' || p.department)::uuid, p.user_id,
       case when p.is_manager and row_number() over (partition by p.department, p.is_manager order by u.created_at) = 1
            then '{owner,admin}'::text[] when p.is_manager then '{admin}' else '{member}' end
from public.profiles p join auth.users u on u.id = p.user_id;

alter table public.folders add column group_id uuid references public.groups on delete cascade;
alter table public.notes add column group_id uuid references public.groups on delete cascade;
update public.folders f set group_id = md5('group' || p.department)::uuid from public.profiles p where p.user_id = f.owner_id;
update public.notes n set group_id = f.group_id from public.folders f where f.id = n.folder_id;
alter table public.folders alter column group_id set not null;
alter table public.notes alter column group_id set not null;
create index folders_group_id_idx on public.folders (group_id);
create index notes_group_id_idx on public.notes (group_id);

create table app.banned_users (user_id uuid primary key references auth.users on delete cascade, reason text not null);

-- db-pre-request: runs after PostgREST has set the claims, before the request's statement.
create function public.check_request() returns void language plpgsql security definer set search_path = ''
as $$
begin
    if exists (select 1 from app.banned_users b where b.user_id = app.uid()) then
        raise exception 'this account is suspended' using errcode = 'insufficient_privilege';
    end if;
    perform set_config('app.request_checked', 'on', true);
end
$$;

-- The caller's groups (holding one of `p_roles`, if given); refuses a signed-in request the hook did not check.
create function app.group_ids(p_roles text[] default null) returns uuid[]
language plpgsql stable security definer set search_path = ''
as $$
begin
    if app.uid() is not null and current_setting('app.request_checked', true) is distinct from 'on' then
        raise exception 'app.group_ids: request not checked by public.check_request' using errcode = 'insufficient_privilege';
    end if;
    return array(select m.group_id from public.group_members m
                 where m.user_id = app.uid() and (p_roles is null or m.roles && p_roles));
end
$$;
create function app.is_group_admin(p_group uuid) returns boolean language sql stable security definer set search_path = ''
as $$ select p_group = any(app.group_ids('{owner,admin}')) $$;

alter table public.groups enable row level security;
alter table public.group_members enable row level security;
create policy groups_read on public.groups for select to authenticated using (id = any(app.group_ids()));
create policy groups_rename on public.groups for update to authenticated
    using (app.is_group_admin(id)) with check (app.is_group_admin(id));
create policy members_read on public.group_members for select to authenticated using (group_id = any(app.group_ids()));
-- Admins add, change and remove others (never themselves); anyone may leave.
create policy members_add on public.group_members for insert to authenticated
    with check (app.is_group_admin(group_id) and user_id <> app.uid());
create policy members_change on public.group_members for update to authenticated
    using (app.is_group_admin(group_id) and user_id <> app.uid())
    with check (app.is_group_admin(group_id) and user_id <> app.uid());
create policy members_remove on public.group_members for delete to authenticated
    using ((app.is_group_admin(group_id) and user_id <> app.uid()) or user_id = app.uid());

drop policy folders_own on public.folders;
drop policy notes_own on public.notes;
create policy folders_read on public.folders for select to authenticated using (group_id = any(app.group_ids()));
create policy folders_add on public.folders for insert to authenticated
    with check (group_id = any(app.group_ids()) and owner_id = app.uid());
create policy folders_change on public.folders for update to authenticated
    using (group_id = any(app.group_ids())) with check (group_id = any(app.group_ids()));
create policy folders_remove on public.folders for delete to authenticated
    using (group_id = any(app.group_ids()) and (owner_id = app.uid() or app.is_group_admin(group_id)));
create policy notes_read on public.notes for select to authenticated using (group_id = any(app.group_ids()));
create policy notes_add on public.notes for insert to authenticated
    with check (group_id = any(app.group_ids()) and author_id = app.uid()
                and exists (select 1 from public.folders f where f.id = folder_id and f.group_id = notes.group_id));
create policy notes_change on public.notes for update to authenticated
    using (group_id = any(app.group_ids())) with check (group_id = any(app.group_ids()));
create policy notes_remove on public.notes for delete to authenticated
    using (group_id = any(app.group_ids()) and (author_id = app.uid() or app.is_group_admin(group_id)));

revoke all on function public.check_request(), app.group_ids(text[]), app.is_group_admin(uuid) from public;
grant execute on function public.check_request(), app.group_ids(text[]), app.is_group_admin(uuid) to anon, authenticated;
grant select, update (name) on public.groups to authenticated;
grant select, insert, delete, update (roles) on public.group_members to authenticated;
-- Authors stay who they are; group_id moves nothing out of the caller's groups (checked above).
revoke update on public.folders, public.notes from authenticated;
grant update (name) on public.folders to authenticated;
grant update (body) on public.notes to authenticated;
