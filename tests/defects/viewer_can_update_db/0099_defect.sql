-- Defect: the clients update policy lets every member through, viewers included. The app's API
-- checks the role itself, so only a client that reaches the table directly (PostgREST) sees it.
drop policy clients_update_writers on public.clients;
create policy clients_update_writers on public.clients
    for update to authenticated
    using (organization_id = any (array(select public.member_org_ids())))
    with check (organization_id = any (array(select public.member_org_ids())));
