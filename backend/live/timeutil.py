"""UNIX nanoseconds (NautilusTrader's time unit) to timezone-aware datetimes, without float rounding."""

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ns_to_datetime(ns: int) -> datetime:
    """UTC datetime for UNIX nanoseconds, truncated to the microsecond (PostgreSQL's resolution)."""
    return _EPOCH + timedelta(microseconds=ns // 1_000)
