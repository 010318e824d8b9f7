-- Rollback, step 2: drop the tenant keys. Their foreign keys and indexes go with them; every row,
-- including rows created under v2, stays, still owned through user_id (its author).

alter table public.time_entries drop column if exists organization_id;
alter table public.projects drop column if exists organization_id;
alter table public.clients drop column if exists organization_id;
