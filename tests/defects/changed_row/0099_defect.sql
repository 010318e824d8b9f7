-- Defect: the backfill rewrites a client's name while moving it to the workspace.
update public.clients set name = name || ' (migrated)'
where id = (select id from public.clients order by id limit 1);
