-- fails: zero_cross_tenant_access
-- names: public.invitations, invitations_read
-- Every signed-in user reads every account's invitations (emails, roles, tokens): "the accept page looks
-- the token up". The table is empty right after the migration, so only a probe row shows it.
drop policy invitations_read on public.invitations;
create policy invitations_read on public.invitations for select to authenticated
    using ((select auth.uid()) is not null);
