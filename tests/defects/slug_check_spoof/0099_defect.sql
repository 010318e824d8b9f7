-- Defect: anyone signed in may create an organization in another user's name (the INSERT policy no
-- longer checks the creator), on a schema whose constraints a careless probe row breaks: personal
-- workspaces carry a unique slug, and a CHECK ties it to a boolean marker. A probe row that sets the
-- nullable unique slug to NULL is rejected by the CHECK, and the spoof probe never reaches the policy.
alter table public.organizations add column is_personal boolean not null default false;
update public.organizations
   set is_personal = personal_owner_id is not null,
       slug = case when personal_owner_id is not null then 'ws-' || left(id::text, 8) end;
alter table public.organizations
    add constraint organizations_personal_slug check (not is_personal or slug is not null);

drop policy organizations_insert_creator on public.organizations;
create policy organizations_insert_creator on public.organizations
    for insert to authenticated
    with check (personal_owner_id is null);
