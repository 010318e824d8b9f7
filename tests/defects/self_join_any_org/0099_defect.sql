-- Defect: "users may create their own membership" - meant for accepting an invitation, it lets
-- any signed-in user insert a membership for themself into any organization, with any role.
create policy memberships_insert_self on public.memberships
    for insert to authenticated
    with check (user_id = (select auth.uid()));
