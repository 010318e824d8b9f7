-- Defect: the membership backfill skipped some users (their workspace exists, nobody owns it).
delete from public.memberships
where user_id in (select id from auth.users order by email limit 2);
