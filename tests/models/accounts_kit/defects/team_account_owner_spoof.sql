-- fails: zero_cross_tenant_access
-- names: public.accounts, primary_owner_user_id
-- A team account can be created with another user as its primary owner: the insert policy checks only
-- the kind of account. A probe row must satisfy the slug CHECK (team accounts need a fresh slug) to show it.
drop policy accounts_insert on public.accounts;
create policy accounts_insert on public.accounts for insert to authenticated with check (not personal_account);
