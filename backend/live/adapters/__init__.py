"""Small, documented fixes around NautilusTrader's stock adapters (the adapters themselves stay unmodified)."""
