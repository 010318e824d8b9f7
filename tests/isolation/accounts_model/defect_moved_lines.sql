-- Defect: a backfill moved some invoice lines to another account than their invoice's.
update app.invoice_lines l set account_id = (select min(id) from app.accounts a where a.id <> l.account_id)
where l.id in (select id from app.invoice_lines order by id limit 3);
