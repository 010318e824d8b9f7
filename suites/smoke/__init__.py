"""The smoke suite."""
