-- Defect: a public read policy meant for a marketing page, on a tenant table.
grant select on public.projects to anon;
create policy projects_public_read on public.projects for select to anon using (true);
