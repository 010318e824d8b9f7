-- Defect: the membership helpers forget the status column, so a suspended member keeps every
-- right of its role: the policies (all built on these helpers) no longer tell active from suspended.
create or replace function public.is_member(org uuid) returns boolean
    language sql stable security definer
    set search_path = public, pg_temp
as $$
    select exists (select 1 from public.memberships m where m.organization_id = org and m.user_id = auth.uid())
$$;

create or replace function public.has_role(org uuid, roles text[]) returns boolean
    language sql stable security definer
    set search_path = public, pg_temp
as $$
    select exists (
        select 1 from public.memberships m
        where m.organization_id = org and m.user_id = auth.uid() and m.role = any (roles)
    )
$$;

create or replace function public.member_org_ids(roles text[] default null) returns setof uuid
    language sql stable security definer
    set search_path = public, pg_temp
as $$
    select m.organization_id from public.memberships m
    where m.user_id = auth.uid() and (roles is null or m.role = any (roles))
$$;
