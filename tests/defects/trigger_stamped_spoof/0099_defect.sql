-- Not a defect (must stay clean): triggers stamp the author columns with the caller on INSERT, as many
-- schemas do. An INSERT naming another user as creator goes through, but what is stored is the caller:
-- the spoofing probes must judge by the stored row, not by the row count.
create function public.stamp_author() returns trigger
    language plpgsql
    set search_path = public, pg_temp
as $$
begin
    if tg_table_name = 'organizations' then
        new.created_by := auth.uid();
    elsif tg_table_name = 'invitations' then
        new.invited_by := auth.uid();
    else
        new.user_id := auth.uid();
    end if;
    return new;
end
$$;

create trigger organizations_stamp_author before insert on public.organizations
    for each row when (auth.uid() is not null) execute function public.stamp_author();
create trigger invitations_stamp_author before insert on public.invitations
    for each row when (auth.uid() is not null) execute function public.stamp_author();
create trigger clients_stamp_author before insert on public.clients
    for each row when (auth.uid() is not null) execute function public.stamp_author();
create trigger projects_stamp_author before insert on public.projects
    for each row when (auth.uid() is not null) execute function public.stamp_author();
create trigger time_entries_stamp_author before insert on public.time_entries
    for each row when (auth.uid() is not null) execute function public.stamp_author();
