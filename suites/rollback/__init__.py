"""The rollback suite."""
