"""The data integrity suite."""
