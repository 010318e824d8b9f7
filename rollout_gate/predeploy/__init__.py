"""Pre-deploy checks: migration lint, rehearsal on a copy, backup verification, readiness.

Nothing here writes to the target: it is read (catalog, pg_dump, row counts) through
read-only sessions, and every database the checks create lives on the scratch server.
"""
