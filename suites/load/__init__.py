"""The load suite."""
