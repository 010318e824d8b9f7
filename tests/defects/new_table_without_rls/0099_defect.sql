-- Defect: a new tenant table, granted to the API role, without row level security.
create table public.expenses (
    id uuid primary key default gen_random_uuid(),
    organization_id uuid not null references public.organizations on delete cascade,
    project_id uuid not null references public.projects on delete cascade,
    amount numeric(10, 2) not null,
    created_at timestamptz not null default now()
);
create index expenses_organization_id_idx on public.expenses (organization_id);
insert into public.expenses (organization_id, project_id, amount)
select p.organization_id, p.id, 12.50 from public.projects p;
grant select, insert, update, delete on public.expenses to authenticated;
