-- Defect: "let the sign-up form pick the organization": a read policy trusting the organization a user
-- wrote into their own metadata (auth.updateUser({data: {org_id}})), through a helper function.
create function public.claimed_org() returns uuid
    language sql stable
as $$ select nullif(auth.jwt() -> 'user_metadata' ->> 'org_id', '')::uuid $$;
create policy clients_claimed_org on public.clients
    for select to authenticated using (organization_id = public.claimed_org());
