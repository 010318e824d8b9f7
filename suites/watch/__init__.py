"""The watch suite."""
