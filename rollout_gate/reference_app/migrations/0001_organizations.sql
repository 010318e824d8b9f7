-- v2, step 1: the tenancy tables. Nothing reads them yet, so this is safe while v1 runs.

create table public.organizations (
    id uuid primary key default gen_random_uuid(),
    name text not null,
    slug text unique,
    -- Set only on a user's personal workspace; unique, so a user has at most one, and
    -- ensure_personal_workspace relies on it as its ON CONFLICT arbiter.
    personal_owner_id uuid unique references auth.users on delete cascade,
    -- set null: deleting a user must not be blocked by the organizations they created.
    created_by uuid default auth.uid() references auth.users on delete set null,
    created_at timestamptz not null default now()
);

create table public.memberships (
    organization_id uuid not null references public.organizations on delete cascade,
    user_id uuid not null references auth.users on delete cascade,
    role text not null check (role in ('owner', 'admin', 'member', 'viewer')),
    status text not null default 'active' check (status in ('active', 'suspended')),
    created_at timestamptz not null default now(),
    primary key (organization_id, user_id)
);

create table public.invitations (
    id uuid primary key default gen_random_uuid(),
    organization_id uuid not null references public.organizations on delete cascade,
    email text not null,
    role text not null check (role in ('admin', 'member', 'viewer')),
    -- Only a hash is stored: a leaked row must not be usable to join the organization.
    token_hash text not null unique,
    invited_by uuid default auth.uid() references auth.users on delete set null,
    expires_at timestamptz not null default now() + interval '7 days',
    accepted_at timestamptz,
    accepted_by uuid references auth.users on delete set null,
    revoked_at timestamptz,
    created_at timestamptz not null default now()
);

-- The primary key already serves lookups by organization; every policy looks up by user.
create index memberships_user_id_idx on public.memberships (user_id);
create index organizations_created_by_idx on public.organizations (created_by);
create index invitations_organization_id_idx on public.invitations (organization_id);
-- Invitations are matched to the signed-in user's email, case-insensitively.
create index invitations_lower_email_idx on public.invitations (lower(email));
