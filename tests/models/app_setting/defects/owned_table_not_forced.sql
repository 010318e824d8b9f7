-- fails: rls_coverage, app_role_rls
-- names: public.customers, app_user
-- The customers table was recreated by a deploy that ran as app_user, so app_user owns it, and FORCE was
-- not re-applied: RLS is enabled, but a table's owner is exempt from its policies unless it is forced.
alter table public.customers owner to app_user;
alter table public.customers no force row level security;
