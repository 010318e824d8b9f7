-- Defect: the delete policy checks that the row has an organization, not that it is the caller's.
-- Filtered deletes (`DELETE ... WHERE id = ...`) are still saved by the SELECT policy; an
-- unfiltered `DELETE FROM public.clients` would empty every organization's clients.
drop policy clients_delete_writers on public.clients;
create policy clients_delete_writers on public.clients
    for delete to authenticated
    using (organization_id is not null);
