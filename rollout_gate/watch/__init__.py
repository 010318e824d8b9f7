"""The watch phase: live metrics over the deploy window against the runbooks' rollback triggers."""
