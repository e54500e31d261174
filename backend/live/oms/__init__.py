"""Unified OMS: order events from NautilusTrader's message bus into PostgreSQL."""
