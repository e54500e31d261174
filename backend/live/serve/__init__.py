"""`live serve`: the read-only dashboard and JSON API over the unified tables."""
