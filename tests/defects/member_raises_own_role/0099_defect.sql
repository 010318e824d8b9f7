-- Defect: "members may edit their own membership" (meant for notification settings) lets a member
-- set its own role; the check keeps the row in an organization the caller belongs to, so nobody
-- moves into another organization this way - only up to owner in their own.
create policy memberships_update_self on public.memberships
    for update to authenticated
    using (user_id = (select auth.uid()))
    with check (user_id = (select auth.uid()) and public.is_member(organization_id));
