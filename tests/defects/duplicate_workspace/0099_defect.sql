-- Defect: the uniqueness of personal workspaces is dropped, and a re-run of the backfill created a
-- second personal workspace (with its owner membership) for one user.
alter table public.organizations drop constraint organizations_personal_owner_id_key;
insert into public.organizations (name, personal_owner_id, created_by)
select 'second workspace', u.id, u.id from auth.users u order by u.email limit 1;
insert into public.memberships (organization_id, user_id, role)
select o.id, o.personal_owner_id, 'owner' from public.organizations o where o.name = 'second workspace';
