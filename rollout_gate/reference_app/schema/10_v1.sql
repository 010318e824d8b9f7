-- v1 of the time-tracking app: single-tenant, every row belongs to the user who created it.
--
-- The policies here are restored verbatim by rollback/, so that a rolled-back schema dumps
-- identically to this one: change a policy here and change it there too.

create table public.profiles (
    user_id uuid primary key references auth.users on delete cascade,
    display_name text not null,
    created_at timestamptz default now()
);

create table public.clients (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references auth.users on delete cascade,
    name text not null,
    email text,
    created_at timestamptz not null default now()
);

create table public.projects (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references auth.users on delete cascade,
    client_id uuid references public.clients on delete set null,
    name text not null,
    hourly_rate numeric(10, 2),
    archived boolean not null default false,
    created_at timestamptz not null default now()
);

create table public.time_entries (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references auth.users on delete cascade,
    project_id uuid not null references public.projects on delete cascade,
    started_at timestamptz not null,
    ended_at timestamptz,
    note text,
    created_at timestamptz not null default now(),
    constraint time_entries_ends_after_start check (ended_at is null or ended_at >= started_at)
);

-- Every owner filter (the policies) and every foreign key gets an index: the policies filter on
-- user_id on each query, and cascading deletes look rows up by the referencing column.
create index clients_user_id_idx on public.clients (user_id);
create index projects_user_id_idx on public.projects (user_id);
create index projects_client_id_idx on public.projects (client_id);
create index time_entries_user_id_idx on public.time_entries (user_id);
create index time_entries_project_id_idx on public.time_entries (project_id);

alter table public.profiles enable row level security;
alter table public.clients enable row level security;
alter table public.projects enable row level security;
alter table public.time_entries enable row level security;

-- `(select auth.uid())` instead of `auth.uid()`: evaluated once per query as an init plan
-- rather than once per row.
create policy profiles_select_own on public.profiles
    for select to authenticated using (user_id = (select auth.uid()));
create policy profiles_insert_own on public.profiles
    for insert to authenticated with check (user_id = (select auth.uid()));
create policy profiles_update_own on public.profiles
    for update to authenticated
    using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy profiles_delete_own on public.profiles
    for delete to authenticated using (user_id = (select auth.uid()));

create policy clients_select_own on public.clients
    for select to authenticated using (user_id = (select auth.uid()));
create policy clients_insert_own on public.clients
    for insert to authenticated with check (user_id = (select auth.uid()));
create policy clients_update_own on public.clients
    for update to authenticated
    using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy clients_delete_own on public.clients
    for delete to authenticated using (user_id = (select auth.uid()));

create policy projects_select_own on public.projects
    for select to authenticated using (user_id = (select auth.uid()));
create policy projects_insert_own on public.projects
    for insert to authenticated with check (user_id = (select auth.uid()));
create policy projects_update_own on public.projects
    for update to authenticated
    using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy projects_delete_own on public.projects
    for delete to authenticated using (user_id = (select auth.uid()));

create policy time_entries_select_own on public.time_entries
    for select to authenticated using (user_id = (select auth.uid()));
create policy time_entries_insert_own on public.time_entries
    for insert to authenticated with check (user_id = (select auth.uid()));
create policy time_entries_update_own on public.time_entries
    for update to authenticated
    using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy time_entries_delete_own on public.time_entries
    for delete to authenticated using (user_id = (select auth.uid()));

grant select, insert, update, delete
    on public.profiles, public.clients, public.projects, public.time_entries
    to authenticated, service_role;
