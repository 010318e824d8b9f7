-- Defective on purpose: "contacts are the source of truth in v2, write them back" reads the
-- billing contact, but 0001 stored every email as 'primary': every client's email becomes NULL.
-- The schema round-trips exactly; only the data fingerprints can tell.
update public.clients c
set email = (select cc.email from public.client_contacts cc where cc.client_id = c.id and cc.kind = 'billing');
drop table if exists public.client_contacts;
