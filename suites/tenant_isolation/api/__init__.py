"""The api suite."""
