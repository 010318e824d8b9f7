-- fails: zero_cross_tenant_access
-- names: public.projects, projects_update
-- A member can update another account's projects: the update policy asks whether the caller is a member
-- of some account, not of the row's account (an unfiltered PATCH /projects rewrites every account's rows).
drop policy projects_update on public.projects;
create policy projects_update on public.projects for update to authenticated
    using (exists (select 1 from public.accounts_memberships m where m.user_id = (select auth.uid())))
    with check (exists (select 1 from public.accounts_memberships m where m.user_id = (select auth.uid())));
