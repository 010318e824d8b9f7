-- Defect: a user who has not signed in yet had their clients moved into another user's workspace (a
-- first sign-in that claimed every unassigned row, not only its own): the rows are no longer theirs.
update public.clients
   set organization_id = (select id from public.organizations order by personal_owner_id limit 1)
 where user_id = (select id from auth.users where last_sign_in_at is null order by email limit 1);
