-- fails: db_role_rules
-- names: public.group_members
-- The admin check tests `roles <@ '{owner,admin,member}'` (all of the caller's roles are known ones) where
-- `roles && '{owner,admin}'` (the caller holds one of them) was meant: a plain member adds, changes and
-- removes the group's members.
create or replace function app.is_group_admin(p_group uuid) returns boolean
language sql stable security definer set search_path = ''
as $$
    select exists (select 1 from public.group_members m
                   where m.group_id = p_group and m.user_id = app.uid() and m.roles <@ '{owner,admin,member}')
$$;
