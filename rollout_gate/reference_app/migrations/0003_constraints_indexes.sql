-- v2, step 3: now that every row has a tenant, make the tenant key mandatory and indexed.
-- Every tenant-scoped query and policy filters on organization_id, and deleting an organization
-- cascades through it.

alter table public.clients
    alter column organization_id set not null,
    add constraint clients_organization_id_fkey
        foreign key (organization_id) references public.organizations on delete cascade;
create index clients_organization_id_idx on public.clients (organization_id);

alter table public.projects
    alter column organization_id set not null,
    add constraint projects_organization_id_fkey
        foreign key (organization_id) references public.organizations on delete cascade;
create index projects_organization_id_idx on public.projects (organization_id);

alter table public.time_entries
    alter column organization_id set not null,
    add constraint time_entries_organization_id_fkey
        foreign key (organization_id) references public.organizations on delete cascade;
create index time_entries_organization_id_idx on public.time_entries (organization_id);
