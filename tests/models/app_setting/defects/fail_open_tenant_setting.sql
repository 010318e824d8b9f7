-- fails: zero_cross_tenant_access
-- names: public.orders, tenant_isolation
-- Fail-open: "no tenant set means a background job" — with app.current_tenant unset the COALESCE falls
-- back to the row's own tenant_id and every order of every tenant is visible (and writable).
drop policy tenant_isolation on public.orders;
create policy tenant_isolation on public.orders
    using (coalesce(current_setting('app.current_tenant', true)::integer, tenant_id) = tenant_id)
    with check (coalesce(current_setting('app.current_tenant', true)::integer, tenant_id) = tenant_id);
