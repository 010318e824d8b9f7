-- Defect: the application's login role owns a tenant table whose RLS is not forced, so the
-- policies do not apply to it.
alter table public.time_entries owner to rg_app;
alter table public.time_entries no force row level security;
