"""Smoke checks declared in the environment file: method, path, expected status, auth, JSON fields."""
