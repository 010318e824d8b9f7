-- fails: zero_cross_tenant_access
-- names: public.notes
-- A refactor of the caller's-groups helper lost its parentheses: `p_roles is null or m.user_id = ... and
-- m.roles && p_roles` returns every group when no role is asked for, so every read policy lets every
-- group's rows through. Only a member whose JWT carries exp/aud and who passed the pre-request hook sees it.
create or replace function app.group_ids(p_roles text[] default null) returns uuid[]
language plpgsql stable security definer set search_path = ''
as $$
begin
    if app.uid() is not null and current_setting('app.request_checked', true) is distinct from 'on' then
        raise exception 'app.group_ids: request not checked by public.check_request' using errcode = 'insufficient_privilege';
    end if;
    return array(select m.group_id from public.group_members m
                 where p_roles is null or m.user_id = app.uid() and m.roles && p_roles);
end
$$;
