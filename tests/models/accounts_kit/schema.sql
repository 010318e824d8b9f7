-- accounts_kit v1: a single-tenant task tracker on a Supabase-style stack. Every project and task belongs
-- to the user who created it; "teams" are only a shared name (team_members) that lets teammates see a
-- project, with nothing enforced per tenant.

-- Supabase-style roles: PostgREST logs in as authenticator and switches to anon or authenticated.
create role anon nologin noinherit;
create role authenticated nologin noinherit;
create role authenticator login noinherit;
grant anon, authenticated to authenticator;

create schema auth;
create table auth.users (
    id uuid primary key default gen_random_uuid(),
    email text not null unique,
    created_at timestamptz not null default now()
);
-- The verified JWT payload, as PostgREST sets it; unset or empty means no caller.
create function auth.jwt() returns jsonb language sql stable
as $$ select coalesce(nullif(current_setting('request.jwt.claims', true), '')::jsonb, '{}') $$;
create function auth.uid() returns uuid language sql stable
as $$ select nullif(auth.jwt() ->> 'sub', '')::uuid $$;
create function auth.email() returns text language sql stable
as $$ select nullif(auth.jwt() ->> 'email', '') $$;
grant usage on schema auth to anon, authenticated;
grant execute on function auth.jwt(), auth.uid(), auth.email() to anon, authenticated;

create table public.team_members (
    team_name text not null,
    user_id uuid not null references auth.users on delete cascade,
    primary key (team_name, user_id)
);
create index team_members_user_id_idx on public.team_members (user_id);

create table public.projects (
    id uuid primary key default gen_random_uuid(),
    created_by uuid not null default auth.uid() references auth.users on delete cascade,
    team_name text,
    name text not null,
    created_at timestamptz not null default now()
);
create index projects_created_by_idx on public.projects (created_by);

create table public.tasks (
    id uuid primary key default gen_random_uuid(),
    project_id uuid not null references public.projects on delete cascade,
    created_by uuid not null default auth.uid() references auth.users on delete cascade,
    title text not null,
    done boolean not null default false
);
create index tasks_project_id_idx on public.tasks (project_id);
create index tasks_created_by_idx on public.tasks (created_by);

alter table public.team_members enable row level security;
alter table public.projects enable row level security;
alter table public.tasks enable row level security;
create policy team_members_own on public.team_members for select to authenticated using (user_id = auth.uid());
create policy projects_v1 on public.projects for all to authenticated
    using (created_by = auth.uid() or team_name in (select team_name from public.team_members where user_id = auth.uid()))
    with check (created_by = auth.uid());
create policy tasks_v1 on public.tasks for all to authenticated
    using (created_by = auth.uid() or exists (select 1 from public.projects p where p.id = project_id))
    with check (created_by = auth.uid());
grant usage on schema public to anon, authenticated;
grant select on public.team_members to authenticated;
grant select, insert, update, delete on public.projects, public.tasks to authenticated;
