-- Rollback, step 1: owner-only access again, before the tenant keys go away.
--
-- Every statement tolerates a partially applied v2 (`if exists`, drop-then-create), so the rollback
-- also works after a migration that failed halfway. The v1 policies are copied verbatim from
-- schema/10_v1.sql, so that the rolled-back schema dumps identically to v1.

drop policy if exists clients_select_members on public.clients;
drop policy if exists clients_insert_writers on public.clients;
drop policy if exists clients_update_writers on public.clients;
drop policy if exists clients_delete_writers on public.clients;
drop policy if exists projects_select_members on public.projects;
drop policy if exists projects_insert_writers on public.projects;
drop policy if exists projects_update_writers on public.projects;
drop policy if exists projects_delete_writers on public.projects;
drop policy if exists time_entries_select_members on public.time_entries;
drop policy if exists time_entries_insert_writers on public.time_entries;
drop policy if exists time_entries_update_writers on public.time_entries;
drop policy if exists time_entries_delete_writers on public.time_entries;

drop policy if exists clients_select_own on public.clients;
drop policy if exists clients_insert_own on public.clients;
drop policy if exists clients_update_own on public.clients;
drop policy if exists clients_delete_own on public.clients;
drop policy if exists projects_select_own on public.projects;
drop policy if exists projects_insert_own on public.projects;
drop policy if exists projects_update_own on public.projects;
drop policy if exists projects_delete_own on public.projects;
drop policy if exists time_entries_select_own on public.time_entries;
drop policy if exists time_entries_insert_own on public.time_entries;
drop policy if exists time_entries_update_own on public.time_entries;
drop policy if exists time_entries_delete_own on public.time_entries;

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

-- v1 enabled RLS on these tables but did not force it.
alter table public.clients no force row level security;
alter table public.projects no force row level security;
alter table public.time_entries no force row level security;
