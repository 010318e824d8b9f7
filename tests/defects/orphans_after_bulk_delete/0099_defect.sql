-- Defect: a clean-up ran with foreign-key triggers off (session_replication_role = replica, the
-- usual bulk-load trick), deleting projects whose time entries stay behind.
set local session_replication_role = replica;
delete from public.projects where id in (select project_id from public.time_entries order by id limit 2);
