-- v2, step 3, lazy: the tenant keys get their foreign key and index, and stay nullable: the rows of
-- users who have not signed in since the deploy have no tenant yet. The NOT NULL comes in a later
-- migration, once the lazy migration is finished (every user migrated, or the rest backfilled).

alter table public.clients
    add constraint clients_organization_id_fkey
        foreign key (organization_id) references public.organizations on delete cascade;
create index clients_organization_id_idx on public.clients (organization_id);

alter table public.projects
    add constraint projects_organization_id_fkey
        foreign key (organization_id) references public.organizations on delete cascade;
create index projects_organization_id_idx on public.projects (organization_id);

alter table public.time_entries
    add constraint time_entries_organization_id_fkey
        foreign key (organization_id) references public.organizations on delete cascade;
create index time_entries_organization_id_idx on public.time_entries (organization_id);
