"""The tenant isolation suite."""
