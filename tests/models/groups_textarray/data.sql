-- 48 users in 6 departments (the first two of each are managers); 1-3 folders per user, 2-4 notes per folder.
insert into auth.users (id, email, created_at)
select md5('member' || g)::uuid, 'member' || g || '@groups.example', timestamptz '2024-02-01' + g * interval '1 hour'
from generate_series(1, 48) g;
insert into public.profiles (user_id, department, is_manager)
select md5('member' || g)::uuid, (array['sales', 'support', 'research', 'legal', 'ops', 'design'])[1 + g % 6], g <= 12
from generate_series(1, 48) g;
insert into public.folders (id, owner_id, name)
select u * 10 + f, md5('member' || u)::uuid, 'Folder ' || f || ' of member ' || u
from generate_series(1, 48) u cross join lateral generate_series(1, 1 + u % 3) f;
insert into public.notes (folder_id, author_id, body, created_at)
select f.id, f.owner_id, 'Note ' || n || ' in ' || f.name, timestamptz '2024-04-01' + (f.id * 5 + n) * interval '1 minute'
from public.folders f cross join lateral generate_series(1, 2 + f.id % 3) n;
analyze;
