-- 60 users; 12 of them in one of 4 teams; 2-4 projects per user (some filed under their team), 3-5 tasks
-- per project: a few hundred rows. Deterministic ids (md5), so every copy of this database is the same.
insert into auth.users (id, email, created_at)
select md5('user' || g)::uuid, 'user' || g || '@kit.example', timestamptz '2024-01-01' + g * interval '1 day'
from generate_series(1, 60) g;
insert into public.team_members (team_name, user_id)
select 'Team ' || chr(64 + 1 + (g - 1) / 3), md5('user' || g)::uuid from generate_series(1, 12) g;
insert into public.projects (id, created_by, team_name, name, created_at)
select md5('project' || u || '-' || p)::uuid, md5('user' || u)::uuid,
       case when u <= 12 and p = 1 then 'Team ' || chr(64 + 1 + (u - 1) / 3) end,
       'Project ' || u || '.' || p, timestamptz '2024-03-01' + (u * 7 + p) * interval '1 hour'
from generate_series(1, 60) u cross join lateral generate_series(1, 2 + u % 3) p;
insert into public.tasks (id, project_id, created_by, title, done)
select md5('task' || p.id || t)::uuid, p.id, p.created_by, 'Task ' || t || ' of ' || p.name, t % 2 = 0
from public.projects p cross join lateral generate_series(1, 3 + abs(hashtext(p.name)) % 3) t;
analyze;
