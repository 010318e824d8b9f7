-- Defect: a permissive "read access for authenticated users" policy, OR-ed with the tenant policy.
create policy clients_read_all on public.clients for select to authenticated using (true);
