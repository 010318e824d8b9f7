-- app_setting v1: a single-tenant order book (integer ids) that every company's staff shared. A user's
-- company is a text field; customers and orders name the user who entered them. The application logs in
-- as its own role app_user, which owns nothing and is subject to row level security.

create role app_user login;

create table public.users (
    id serial primary key,
    email text not null unique,
    company text not null,
    is_admin boolean not null default false
);
create table public.customers (
    id serial primary key,
    name text not null,
    created_by integer not null references public.users
);
create index customers_created_by_idx on public.customers (created_by);
create table public.orders (
    id serial primary key,
    customer_id integer not null references public.customers on delete cascade,
    created_by integer not null references public.users,
    total numeric(10, 2) not null check (total >= 0),
    placed_at timestamptz not null default now()
);
create index orders_customer_id_idx on public.orders (customer_id);
create index orders_created_by_idx on public.orders (created_by);
create table public.order_lines (
    order_id integer not null references public.orders on delete cascade,
    line integer not null,
    sku text not null,
    quantity integer not null check (quantity > 0),
    primary key (order_id, line)
);

grant select, insert, update, delete on public.users, public.customers, public.orders, public.order_lines to app_user;
grant usage on all sequences in schema public to app_user;
