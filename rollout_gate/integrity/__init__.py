"""Data-integrity checks: fingerprints of pre-migration data and tenancy invariants."""
