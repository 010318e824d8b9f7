drop index if exists public.time_entries_started_at_idx;
