-- fails: zero_cross_tenant_access
-- names: public.folders, folders_read
-- "Folders are listed for every group so that notes can be moved between them": every signed-in user
-- reads every group's folders. The policy looks at the row (group_id), so no static rule flags it.
drop policy folders_read on public.folders;
create policy folders_read on public.folders for select to authenticated using (group_id is not null);
