"""Tenant isolation: static RLS coverage from the catalog, and behavioural probes as real members."""
