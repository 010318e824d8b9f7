-- app_setting migration to multi-tenant: a tenant per company, tenant_users with a role, tenant_id on every
-- table, and policies that read the tenant the application sets per transaction
-- (`SET LOCAL app.current_tenant = '<id>'`). RLS is forced, so even the tables' owner is held to them.

create table public.tenants (
    id serial primary key,
    name text not null unique
);
create table public.tenant_users (
    tenant_id integer not null references public.tenants on delete cascade,
    user_id integer not null references public.users on delete cascade,
    role text not null default 'member' check (role in ('owner', 'member')),
    primary key (tenant_id, user_id)
);
create index tenant_users_user_id_idx on public.tenant_users (user_id);

insert into public.tenants (name) select distinct company from public.users order by company;
insert into public.tenant_users (tenant_id, user_id, role)
select t.id, u.id, case when u.is_admin then 'owner' else 'member' end
from public.users u join public.tenants t on t.name = u.company;

alter table public.customers add column tenant_id integer references public.tenants;
alter table public.orders add column tenant_id integer references public.tenants;
alter table public.order_lines add column tenant_id integer references public.tenants;
update public.customers c set tenant_id = m.tenant_id from public.tenant_users m where m.user_id = c.created_by;
update public.orders o set tenant_id = c.tenant_id from public.customers c where c.id = o.customer_id;
update public.order_lines l set tenant_id = o.tenant_id from public.orders o where o.id = l.order_id;
alter table public.customers alter column tenant_id set not null;
alter table public.orders alter column tenant_id set not null;
alter table public.order_lines alter column tenant_id set not null;
create index customers_tenant_id_idx on public.customers (tenant_id);
create index orders_tenant_id_idx on public.orders (tenant_id);
create index order_lines_tenant_id_idx on public.order_lines (tenant_id);
-- Whoever entered a row is a user of the row's tenant.
alter table public.customers add foreign key (tenant_id, created_by) references public.tenant_users (tenant_id, user_id);
alter table public.orders add foreign key (tenant_id, created_by) references public.tenant_users (tenant_id, user_id);

-- The tenant of the request; NULL (no row at all) when the application has not set one.
create function public.current_tenant() returns integer language sql stable
as $$ select nullif(current_setting('app.current_tenant', true), '')::integer $$;

alter table public.tenants enable row level security;
alter table public.tenant_users enable row level security;
alter table public.customers enable row level security;
alter table public.orders enable row level security;
alter table public.order_lines enable row level security;
alter table public.tenants force row level security;
alter table public.tenant_users force row level security;
alter table public.customers force row level security;
alter table public.orders force row level security;
alter table public.order_lines force row level security;
create policy tenant_isolation on public.tenants using (id = public.current_tenant());
create policy tenant_isolation on public.tenant_users using (tenant_id = public.current_tenant());
create policy tenant_isolation on public.customers
    using (tenant_id = public.current_tenant()) with check (tenant_id = public.current_tenant());
create policy tenant_isolation on public.orders
    using (tenant_id = public.current_tenant())
    with check (tenant_id = public.current_tenant()
                and exists (select 1 from public.customers c where c.id = customer_id and c.tenant_id = orders.tenant_id));
create policy tenant_isolation on public.order_lines
    using (tenant_id = public.current_tenant())
    with check (tenant_id = public.current_tenant()
                and exists (select 1 from public.orders o where o.id = order_id and o.tenant_id = order_lines.tenant_id));

-- Users and tenant memberships are managed by the admin console (another role); the app only reads them.
revoke insert, update, delete on public.users from app_user;
grant select on public.tenants, public.tenant_users to app_user;
