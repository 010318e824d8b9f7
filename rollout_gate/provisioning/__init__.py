"""Test users, organizations, memberships and invitations on the target: created per run, always removed."""
