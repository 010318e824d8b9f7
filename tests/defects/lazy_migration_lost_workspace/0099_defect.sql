-- Defect: a user signed in after the deploy and got no workspace (the first-visit call failed or
-- never ran): they count as migrated, yet hold no membership and their rows are in no tenant.
update auth.users set last_sign_in_at = now()
where id = (select id from auth.users where last_sign_in_at is null order by email limit 1);
