-- accounts_kit migration to multi-tenant, the way account-based kits do it: accounts (one personal account
-- per user, team accounts with a slug), accounts_memberships with an enum role, invitations, account_id on
-- every tenant table, triggers that stamp created_by/updated_by from auth.uid(), and policies per account.

create type public.account_role as enum ('owner', 'member');

create table public.accounts (
    id uuid primary key default gen_random_uuid(),
    name text not null,
    slug text unique,
    personal_account boolean not null default false,
    primary_owner_user_id uuid not null default auth.uid() references auth.users on delete cascade,
    created_at timestamptz not null default now(),
    created_by uuid references auth.users,
    updated_by uuid references auth.users,
    -- A personal account is reached by its owner, a team account by its slug.
    constraint accounts_slug_matches_kind check (personal_account = (slug is null))
);
create unique index accounts_one_personal_account on public.accounts (primary_owner_user_id) where personal_account;
create index accounts_primary_owner_user_id_idx on public.accounts (primary_owner_user_id);

create table public.accounts_memberships (
    user_id uuid not null references auth.users on delete cascade,
    account_id uuid not null references public.accounts on delete cascade,
    account_role public.account_role not null default 'member',
    created_at timestamptz not null default now(),
    created_by uuid references auth.users,
    updated_by uuid references auth.users,
    primary key (user_id, account_id)
);
create index accounts_memberships_account_id_idx on public.accounts_memberships (account_id);

create table public.invitations (
    id bigint generated always as identity primary key,
    email text not null,
    account_id uuid not null references public.accounts on delete cascade,
    invited_by uuid not null default auth.uid() references auth.users on delete cascade,
    role public.account_role not null default 'member',
    invite_token text not null unique default md5(gen_random_uuid()::text),
    expires_at timestamptz not null default now() + interval '7 days',
    unique (email, account_id)
);
create index invitations_account_id_idx on public.invitations (account_id);

-- Backfill: a personal account per user, a team account per v1 team (its earliest member is the owner).
insert into public.accounts (id, name, personal_account, primary_owner_user_id, created_at)
select md5('personal' || u.id)::uuid, split_part(u.email, '@', 1), true, u.id, u.created_at from auth.users u;
insert into public.accounts (id, name, slug, personal_account, primary_owner_user_id)
select md5('team' || t.team_name)::uuid, t.team_name, lower(replace(t.team_name, ' ', '-')), false, t.owner
from (select distinct on (m.team_name) m.team_name, m.user_id as owner
      from public.team_members m join auth.users u on u.id = m.user_id
      order by m.team_name, u.created_at, u.id) t;
insert into public.accounts_memberships (user_id, account_id, account_role)
select a.primary_owner_user_id, a.id, 'owner'::public.account_role from public.accounts a
union all
select m.user_id, md5('team' || m.team_name)::uuid, 'member' from public.team_members m
where m.user_id <> (select primary_owner_user_id from public.accounts where id = md5('team' || m.team_name)::uuid);

alter table public.projects add column account_id uuid references public.accounts on delete cascade,
    add column updated_by uuid references auth.users;
alter table public.tasks add column account_id uuid references public.accounts on delete cascade,
    add column updated_by uuid references auth.users;
update public.projects p set account_id = coalesce(
    (select a.id from public.accounts a where a.id = md5('team' || p.team_name)::uuid),
    md5('personal' || p.created_by)::uuid);
update public.tasks t set account_id = p.account_id from public.projects p where p.id = t.project_id;
alter table public.projects alter column account_id set not null;
alter table public.tasks alter column account_id set not null;
create index projects_account_id_idx on public.projects (account_id);
create index tasks_account_id_idx on public.tasks (account_id);

-- Helpers (SECURITY DEFINER with an empty search_path: the policies call them for every row).
create function public.has_role_on_account(account_id uuid, account_role public.account_role default null)
returns boolean language sql stable security definer set search_path = ''
as $$
    select exists (select 1 from public.accounts_memberships m
                   where m.user_id = (select auth.uid()) and m.account_id = has_role_on_account.account_id
                     and (has_role_on_account.account_role is null or m.account_role = has_role_on_account.account_role))
$$;

-- Every new user gets a personal account; callable again (first sign-in after the deploy), idempotent.
create function public.ensure_personal_account(p_user uuid) returns uuid
language plpgsql security definer set search_path = ''
as $$
declare
    v_account uuid;
begin
    if auth.uid() is not null and auth.uid() <> p_user then
        raise exception 'ensure_personal_account: permission denied' using errcode = 'insufficient_privilege';
    end if;
    insert into public.accounts (name, personal_account, primary_owner_user_id)
    select split_part(u.email, '@', 1), true, u.id from auth.users u where u.id = p_user
    on conflict (primary_owner_user_id) where personal_account do nothing
    returning id into v_account;
    if v_account is null then
        select a.id into v_account from public.accounts a where a.primary_owner_user_id = p_user and a.personal_account;
    end if;
    insert into public.accounts_memberships (user_id, account_id, account_role) values (p_user, v_account, 'owner')
    on conflict do nothing;
    return v_account;
end
$$;

create function public.accept_invitation(token text) returns uuid
language plpgsql security definer set search_path = ''
as $$
declare
    v_invitation public.invitations;
begin
    select * into v_invitation from public.invitations i
    where i.invite_token = token and i.expires_at > now() and lower(i.email) = lower(auth.email()) for update;
    if not found then
        raise exception 'accept_invitation: no such invitation for you' using errcode = 'no_data_found';
    end if;
    insert into public.accounts_memberships (user_id, account_id, account_role)
    values (auth.uid(), v_invitation.account_id, v_invitation.role) on conflict do nothing;
    delete from public.invitations where id = v_invitation.id;
    return v_invitation.account_id;
end
$$;

create function public.on_auth_user_created() returns trigger
language plpgsql security definer set search_path = ''
as $$ begin perform public.ensure_personal_account(new.id); return new; end $$;
create trigger on_auth_user_created after insert on auth.users
    for each row execute function public.on_auth_user_created();

-- The creator of a team account becomes its owner member.
create function public.add_creator_to_account() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
    if not new.personal_account and auth.uid() is not null then
        insert into public.accounts_memberships (user_id, account_id, account_role) values (auth.uid(), new.id, 'owner');
    end if;
    return new;
end
$$;
create trigger accounts_add_creator after insert on public.accounts
    for each row execute function public.add_creator_to_account();

-- Who wrote a row is the signed-in user, whatever the client sent.
create function public.set_user_tracking() returns trigger language plpgsql
as $$
begin
    if tg_op = 'INSERT' then
        new.created_by := coalesce(auth.uid(), new.created_by);
    else
        new.created_by := old.created_by;
    end if;
    new.updated_by := coalesce(auth.uid(), new.updated_by);
    return new;
end
$$;
create trigger accounts_user_tracking before insert or update on public.accounts
    for each row execute function public.set_user_tracking();
create trigger accounts_memberships_user_tracking before insert or update on public.accounts_memberships
    for each row execute function public.set_user_tracking();
create trigger projects_user_tracking before insert or update on public.projects
    for each row execute function public.set_user_tracking();
create trigger tasks_user_tracking before insert or update on public.tasks
    for each row execute function public.set_user_tracking();

alter table public.accounts enable row level security;
alter table public.accounts_memberships enable row level security;
alter table public.invitations enable row level security;

create policy accounts_read on public.accounts for select to authenticated using (public.has_role_on_account(id));
create policy accounts_insert on public.accounts for insert to authenticated
    with check (not personal_account and primary_owner_user_id = (select auth.uid()));
create policy accounts_update on public.accounts for update to authenticated
    using (public.has_role_on_account(id, 'owner')) with check (public.has_role_on_account(id, 'owner'));
create policy accounts_delete on public.accounts for delete to authenticated
    using (not personal_account and primary_owner_user_id = (select auth.uid()));

create policy memberships_read on public.accounts_memberships for select to authenticated
    using (public.has_role_on_account(account_id));
create policy memberships_update on public.accounts_memberships for update to authenticated
    using (public.has_role_on_account(account_id, 'owner') and user_id <> (select auth.uid()))
    with check (public.has_role_on_account(account_id, 'owner') and user_id <> (select auth.uid()));
-- Owners remove others; members leave.
create policy memberships_delete on public.accounts_memberships for delete to authenticated
    using ((public.has_role_on_account(account_id, 'owner') and user_id <> (select auth.uid()))
           or (user_id = (select auth.uid()) and account_role = 'member'));

create policy invitations_read on public.invitations for select to authenticated
    using (public.has_role_on_account(account_id));
create policy invitations_insert on public.invitations for insert to authenticated
    with check (public.has_role_on_account(account_id, 'owner') and invited_by = (select auth.uid()));
create policy invitations_delete on public.invitations for delete to authenticated
    using (public.has_role_on_account(account_id, 'owner'));

drop policy projects_v1 on public.projects;
drop policy tasks_v1 on public.tasks;
create policy projects_read on public.projects for select to authenticated using (public.has_role_on_account(account_id));
create policy projects_insert on public.projects for insert to authenticated
    with check (public.has_role_on_account(account_id));
create policy projects_update on public.projects for update to authenticated
    using (public.has_role_on_account(account_id)) with check (public.has_role_on_account(account_id));
create policy projects_delete on public.projects for delete to authenticated
    using (public.has_role_on_account(account_id));
create policy tasks_read on public.tasks for select to authenticated using (public.has_role_on_account(account_id));
create policy tasks_insert on public.tasks for insert to authenticated
    with check (public.has_role_on_account(account_id)
                and exists (select 1 from public.projects p where p.id = project_id and p.account_id = tasks.account_id));
create policy tasks_update on public.tasks for update to authenticated
    using (public.has_role_on_account(account_id))
    with check (public.has_role_on_account(account_id)
                and exists (select 1 from public.projects p where p.id = project_id and p.account_id = tasks.account_id));
create policy tasks_delete on public.tasks for delete to authenticated using (public.has_role_on_account(account_id));

-- v1's team list is superseded by accounts_memberships (kept, unread, for the rollback).
revoke all on public.team_members from authenticated;
revoke all on function public.has_role_on_account(uuid, public.account_role), public.ensure_personal_account(uuid),
    public.accept_invitation(text), public.on_auth_user_created(), public.add_creator_to_account() from public;
grant execute on function public.has_role_on_account(uuid, public.account_role), public.ensure_personal_account(uuid),
    public.accept_invitation(text) to authenticated;
grant usage on type public.account_role to authenticated;
grant select, insert, delete, update (name, slug) on public.accounts to authenticated;
grant select, delete, update (account_role) on public.accounts_memberships to authenticated;
grant select, insert, delete on public.invitations to authenticated;
