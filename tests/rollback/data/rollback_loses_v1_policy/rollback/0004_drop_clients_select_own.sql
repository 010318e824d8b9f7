-- Defect: the rollback does not restore v1's read policy on clients: RLS then hides every client
-- from its owner, so the old version shows users none of their clients although no row is lost.
drop policy clients_select_own on public.clients;
