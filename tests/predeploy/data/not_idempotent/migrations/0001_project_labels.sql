-- Defective on purpose: written to be re-runnable (IF NOT EXISTS) but the backfill has no
-- conflict target, so a second run inserts every label again.
create table if not exists public.project_labels (
    project_id uuid not null references public.projects on delete cascade,
    label text not null
);
alter table public.project_labels enable row level security;
insert into public.project_labels (project_id, label)
select id, case when archived then 'archived' else 'active' end from public.projects;
