-- Defect: time entries were backfilled from a wrong join and now sit in another tenant than
-- their project (the tenant key is valid, so no foreign key catches it).
update public.time_entries t
set organization_id = (select o.id from public.organizations o where o.id <> t.organization_id order by o.id limit 1)
where t.id in (select id from public.time_entries order by id limit 4);
