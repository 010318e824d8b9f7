-- Defect: a reporting view over a tenant table, granted to the API role, running with its owner's
-- rights (no security_invoker): it shows every organization's projects.
create view public.project_overview as select id, organization_id, name from public.projects;
grant select on public.project_overview to authenticated;
