"""Browser flows: launch settings and page objects for the reference app's pages."""
