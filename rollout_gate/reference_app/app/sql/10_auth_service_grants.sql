-- What the app's auth endpoints need beyond schema/00_auth.sql: sign-up and account deletion write
-- auth.users through the service-role client (in Supabase, GoTrue does this with its own role).
-- Applied by the deployer (the local target's deploy hook) as the owner; idempotent.
grant insert (email, encrypted_password, raw_user_meta_data), delete on auth.users to service_role;
