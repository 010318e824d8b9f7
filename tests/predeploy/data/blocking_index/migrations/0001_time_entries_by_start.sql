-- Reports list a user's entries by start time. A plain CREATE INDEX holds a SHARE lock on
-- time_entries for the whole build: on a large table every timer start/stop waits for it.
create index time_entries_started_at_idx on public.time_entries (started_at);
