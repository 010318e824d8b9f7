-- v2 adds a policy on a v1 table (support staff read profiles); its rollback set forgets to drop it.
create policy profiles_select_support on public.profiles
    for select to service_role using (true);
