-- 30 users with a personal account each; 3 team accounts with an owner, an editor and a reader.
insert into app.app_users (login) select 'user' || g from generate_series(1, 30) g;
select app.ensure_account(id) from app.app_users order by id;
insert into app.accounts (title) values ('Team A'), ('Team B'), ('Team C');
insert into app.account_user (account_id, app_user_id, access)
select a.id, u.id, (array['owner', 'editor', 'reader'])[1 + (u.id % 3)]
from app.accounts a join app.app_users u on u.id between (a.id - 30) * 3 - 2 and (a.id - 30) * 3
where a.owner_user_id is null;
insert into app.invoices (account_id, created_by, total)
select m.account_id, m.app_user_id, 10 * g + m.account_id
from app.account_user m cross join generate_series(1, 4 + (m.account_id % 5)) g
where m.access <> 'reader';
insert into app.invoice_lines (account_id, invoice_id, amount)
select i.account_id, i.id, i.total / 2 from app.invoices i cross join generate_series(1, 2);
insert into app.currencies values ('EUR', 'Euro'), ('USD', 'US dollar'), ('JPY', 'Yen');
analyze;
