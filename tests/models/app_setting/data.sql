-- 5 companies of 8 users (the first one an admin); 2 customers per user, 1-3 orders per customer, 1-3 lines each.
insert into public.users (id, email, company, is_admin)
select g, 'staff' || g || '@orders.example', 'Company ' || (1 + (g - 1) / 8), (g - 1) % 8 = 0
from generate_series(1, 40) g;
insert into public.customers (id, name, created_by)
select u * 2 - 1 + c, 'Customer ' || (u * 2 - 1 + c), u from generate_series(1, 40) u cross join generate_series(0, 1) c;
insert into public.orders (id, customer_id, created_by, total, placed_at)
select c.id * 4 + o, c.id, c.created_by, 10 * o + c.id, timestamptz '2024-05-01' + (c.id * 4 + o) * interval '1 hour'
from public.customers c cross join lateral generate_series(1, 1 + c.id % 3) o;
insert into public.order_lines (order_id, line, sku, quantity)
select o.id, l, 'SKU-' || (o.id * 7 + l) % 50, 1 + l from public.orders o cross join lateral generate_series(1, 1 + o.id % 3) l;
select setval(pg_get_serial_sequence('public.' || t, 'id'), 10000) from unnest(array['users', 'customers', 'orders']) t;
analyze;
