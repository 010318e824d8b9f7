-- Defect: the migration leaves row level security off on a tenant table (someone "temporarily"
-- disabled it to debug a policy and the statement stayed in the migration).
alter table public.projects disable row level security;
