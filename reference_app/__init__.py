"""Reference multi-tenant time-tracking app: v1 schema, v2 migrations, rollback and a deterministic seeder."""
