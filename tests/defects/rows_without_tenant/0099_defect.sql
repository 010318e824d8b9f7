-- Defect: the tenant key stays nullable and part of the backfill never ran.
alter table public.time_entries alter column organization_id drop not null;
update public.time_entries set organization_id = null
where id in (select id from public.time_entries order by id limit 5);
