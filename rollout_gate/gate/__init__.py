"""Turning test outcomes into a GO / NO-GO decision and the files that carry it."""
