-- v2 keeps several contacts per client; v1's clients.email stays, so v1 keeps working meanwhile.
create table public.client_contacts (
    id uuid primary key default gen_random_uuid(),
    client_id uuid not null references public.clients on delete cascade,
    user_id uuid not null references auth.users on delete cascade,
    kind text not null check (kind in ('primary', 'billing')),
    email text not null
);
create index client_contacts_client_id_idx on public.client_contacts (client_id);
alter table public.client_contacts enable row level security;
create policy client_contacts_own on public.client_contacts
    for all to authenticated using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));

insert into public.client_contacts (client_id, user_id, kind, email)
select id, user_id, 'primary', email from public.clients where email is not null;
