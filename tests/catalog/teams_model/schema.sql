-- A third tenancy shape, written for the discovery tests: Supabase-style (auth.users, JWT claims in
-- policies, the anon/authenticated roles), tenants are "teams" keyed by team_id, a member's roles
-- are a text[] array checked against a list, the membership status is an enum named `state`, one
-- table keys its team by another column (docs.owning_team), and invitations have their own table.
-- The API roles are created by the test (roles are cluster-wide).

create schema auth;
create table auth.users (
    id uuid primary key default gen_random_uuid(),
    email text not null unique
);
create function auth.uid() returns uuid language sql stable
as $$ select nullif(current_setting('request.jwt.claims', true)::jsonb ->> 'sub', '')::uuid $$;

create type public.member_state as enum ('invited', 'active', 'banned');

create table public.teams (
    id uuid primary key default gen_random_uuid(),
    name text not null,
    is_personal boolean not null default false,
    created_by uuid references auth.users on delete set null
);

create table public.team_members (
    team_id uuid not null references public.teams on delete cascade,
    member_id uuid not null references auth.users on delete cascade,
    roles text[] not null default '{editor}' check (roles <@ array['owner', 'editor', 'viewer']::text[]),
    state public.member_state not null default 'active',
    primary key (team_id, member_id)
);

create table public.boards (
    id bigint generated always as identity primary key,
    team_id uuid not null references public.teams on delete cascade,
    owner uuid references auth.users on delete set null,
    title text not null
);

create table public.cards (
    id bigint generated always as identity primary key,
    team_id uuid not null references public.teams on delete cascade,
    board_id bigint not null references public.boards on delete cascade,
    body text
);

create table public.docs (
    id bigint generated always as identity primary key,
    owning_team uuid not null references public.teams on delete cascade,
    body text
);

create table public.team_invites (
    id bigint generated always as identity primary key,
    team_id uuid not null references public.teams on delete cascade,
    email text not null,
    roles text[] not null default '{viewer}',
    invited_by uuid references auth.users on delete set null,
    token text not null unique
);

create function public.my_team_ids() returns setof uuid language sql stable security definer
    set search_path = public, pg_temp
as $$ select team_id from public.team_members where member_id = auth.uid() and state = 'active' $$;

-- First sign-in: a personal team (marked by is_personal, no owner column) with its owner.
create function public.bootstrap_member(p_member uuid) returns uuid language plpgsql security definer
    set search_path = public, pg_temp
as $$
declare
    v_team uuid;
begin
    insert into public.teams (name, is_personal, created_by) values ('personal', true, p_member)
    returning id into v_team;
    insert into public.team_members (team_id, member_id, roles) values (v_team, p_member, '{owner}');
    return v_team;
end
$$;

create function public.accept_team_invite(p_token text) returns uuid language plpgsql security definer
    set search_path = public, pg_temp
as $$
declare
    v_invite public.team_invites;
begin
    select * into v_invite from public.team_invites where token = p_token;
    insert into public.team_members (team_id, member_id, roles) values (v_invite.team_id, auth.uid(), v_invite.roles);
    delete from public.team_invites where id = v_invite.id;
    return v_invite.team_id;
end
$$;

alter table public.teams enable row level security;
alter table public.team_members enable row level security;
alter table public.boards enable row level security;
alter table public.cards enable row level security;
alter table public.docs enable row level security;
alter table public.team_invites enable row level security;

create policy teams_read on public.teams for select to authenticated using (id in (select public.my_team_ids()));
create policy members_read on public.team_members for select to authenticated
    using (team_id in (select public.my_team_ids()));
create policy boards_all on public.boards for all to authenticated
    using (team_id in (select public.my_team_ids())) with check (team_id in (select public.my_team_ids()));
create policy cards_all on public.cards for all to authenticated
    using (team_id in (select public.my_team_ids())) with check (team_id in (select public.my_team_ids()));
create policy docs_all on public.docs for all to authenticated
    using (owning_team in (select public.my_team_ids()))
    with check ((current_setting('request.jwt.claims', true)::jsonb ->> 'role') = 'authenticated'
                and owning_team in (select public.my_team_ids()));
create policy invites_read on public.team_invites for select to authenticated
    using (team_id in (select public.my_team_ids()) or invited_by = auth.uid());

grant usage on schema public, auth to anon, authenticated;
grant select on public.teams, public.team_members, public.team_invites to authenticated;
grant select, insert, update, delete on public.boards, public.cards, public.docs to authenticated;
grant execute on function public.bootstrap_member(uuid), public.accept_team_invite(text) to authenticated;
