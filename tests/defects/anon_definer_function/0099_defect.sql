-- Defect: a SECURITY DEFINER helper for a public "project count" widget, executable by anon.
create function public.project_count(org uuid) returns bigint
    language sql stable security definer
    set search_path = public, pg_temp
as $$ select count(*) from public.projects where organization_id = org $$;
grant execute on function public.project_count(uuid) to anon;
