"""The OMS against the venue: warm start from PostgreSQL into NautilusTrader's cache, and the venue audit."""
