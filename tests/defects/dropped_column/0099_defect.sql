-- Defect: a column v1 still reads is dropped in the expand phase.
alter table public.clients drop column email;
