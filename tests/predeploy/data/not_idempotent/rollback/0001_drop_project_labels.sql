drop table if exists public.project_labels;
