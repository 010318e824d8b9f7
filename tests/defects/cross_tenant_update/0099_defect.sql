-- Defect: the update policy's WITH CHECK forgets the membership test, so a row can be moved
-- into any organization.
drop policy projects_update_writers on public.projects;
create policy projects_update_writers on public.projects
    for update to authenticated
    using (organization_id = any (array(select public.member_org_ids('{owner,admin,member}'))))
    with check (organization_id is not null);
