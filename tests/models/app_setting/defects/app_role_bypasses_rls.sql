-- fails: app_role_rls
-- names: app_user
-- "The nightly export was slow": the application's own role was given BYPASSRLS, so no policy applies to
-- anything the application runs. The policies themselves are fine; the finding is the role.
alter role app_user bypassrls;
