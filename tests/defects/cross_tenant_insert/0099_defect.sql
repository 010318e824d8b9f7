-- Defect: the insert policy checks the author but not the organization.
drop policy clients_insert_writers on public.clients;
create policy clients_insert_writers on public.clients
    for insert to authenticated
    with check (user_id = (select auth.uid()));
