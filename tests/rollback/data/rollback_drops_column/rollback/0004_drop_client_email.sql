-- Defect: the rollback drops a column v1 still has (and reads).
alter table public.clients drop column email;
