-- Rollback, step 3: drop the tenancy functions and tables. Memberships and invitations have no v1
-- equivalent; organizations other than personal workspaces are lost with them (their rows were
-- kept in step 2). Tables go before the helper functions their policies and trigger use.

drop function if exists public.ensure_personal_workspace(uuid);
drop function if exists public.accept_invitation(text);
drop table if exists public.invitations;
drop table if exists public.memberships;
drop table if exists public.organizations;
drop function if exists public.add_organization_creator();
drop function if exists public.is_member(uuid);
drop function if exists public.has_role(uuid, text[]);
drop function if exists public.member_org_ids(text[]);
