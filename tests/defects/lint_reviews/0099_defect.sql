-- Not a defect: lint findings that deserve a review but do not block (warn level).
-- A SECURITY DEFINER helper that fixes no search_path, executable by everyone (PUBLIC's default EXECUTE).
-- (It reads profiles, not a tenant table: a tenant table would make it a blocking anon_definer_function.)
create function public.display_name(p_user uuid) returns text
    language sql stable security definer
as $$ select display_name from public.profiles where user_id = p_user $$;
-- An audit table with RLS on, no policy yet, and a grant to signed-in users: they see nothing.
create table public.audit_events (id bigint generated always as identity primary key, note text not null);
alter table public.audit_events enable row level security;
grant select on public.audit_events to authenticated;
-- A policy without TO (PUBLIC) on a tenant table the anonymous role may read.
-- (anon may call the allow-listed helper, which finds no organization for a caller without a user id.)
grant select on public.time_entries to anon;
grant execute on function public.member_org_ids(text[]) to anon;
create policy time_entries_any_role on public.time_entries
    for select using (organization_id = any (array(select public.member_org_ids())));
