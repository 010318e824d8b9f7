"""The local rehearsal target: embedded PostgreSQL plus the reference app."""
