-- Supabase-compatible auth layer for the reference app.
--
-- Roles are cluster-wide while this file runs once per database, and several databases
-- (possibly from parallel workers) share one cluster: every role is created only when it is
-- missing, and a concurrent creator winning the race is not an error.

do $$
declare
    spec record;
    api_role text;
begin
    for spec in
        select * from (values
            ('anon',          'nologin noinherit'),
            ('authenticated', 'nologin noinherit'),
            ('service_role',  'nologin noinherit bypassrls'),
            -- Like Supabase's `authenticator`: logs in, holds no privileges of its own and
            -- only switches to one of the API roles with SET LOCAL ROLE.
            ('rg_app',        'login noinherit password ''rg_app''')
        ) as s(name, options)
    loop
        if not exists (select from pg_roles where rolname = spec.name) then
            begin
                execute format('create role %I %s', spec.name, spec.options);
            exception
                when duplicate_object or unique_violation then null;
            end;
        end if;
    end loop;

    -- rg_app must be able to SET ROLE to each API role (NOINHERIT: it gets nothing implicitly).
    foreach api_role in array array['anon', 'authenticated', 'service_role'] loop
        if not pg_has_role('rg_app', api_role, 'member') then
            begin
                execute format('grant %I to rg_app', api_role);
            exception
                when duplicate_object or unique_violation then null;
            end;
        end if;
    end loop;
end
$$;

create schema if not exists auth;

create table if not exists auth.users (
    id uuid primary key default gen_random_uuid(),
    email text not null unique,
    encrypted_password text,
    created_at timestamptz not null default now(),
    raw_user_meta_data jsonb not null default '{}'
);

-- The API layer puts the verified JWT payload in `request.jwt.claims` (transaction-local);
-- an unset or empty setting means "no caller identity", never an error.
create or replace function auth.jwt() returns jsonb
    language sql stable
as $$
    select coalesce(nullif(current_setting('request.jwt.claims', true), '')::jsonb, '{}'::jsonb)
$$;

create or replace function auth.uid() returns uuid
    language sql stable
as $$
    select nullif(auth.jwt() ->> 'sub', '')::uuid
$$;

create or replace function auth.role() returns text
    language sql stable
as $$
    select nullif(auth.jwt() ->> 'role', '')
$$;

-- authenticated may not read auth.users, so this is how a caller learns its own email.
create or replace function auth.email() returns text
    language sql stable
as $$
    select nullif(auth.jwt() ->> 'email', '')
$$;

grant usage on schema auth to anon, authenticated, service_role;
grant execute on function auth.jwt(), auth.uid(), auth.role(), auth.email()
    to anon, authenticated, service_role;
grant select on auth.users to service_role;
