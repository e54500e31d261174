"""The filters every listing (``live orders`` / ``fills`` / ``positions`` / ``balances``) takes, checked when the
arguments are parsed: ``--venue`` one of the venues the unified tables record (anything else is refused with the
list), ``--since`` a time or an age, ``--limit`` the number of most recent rows."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta

from backend.live.report import DEFAULT_LIMIT
from backend.live.venues import UNIFIED_VENUES, VENUES

_AGE = re.compile(r"^(?P<amount>\d+(?:\.\d+)?)(?P<unit>[smhdw])$")
_UNIT_SECS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def venue_arg(text: str) -> str:
    """A venue of the unified tables; Binance USDT-M futures are recorded as BINANCE (their accounts tell them
    apart), so ``BINANCE_FUTURES`` is refused with that hint rather than matching nothing."""
    venue = text.strip().upper()
    if venue in VENUES:
        return venue
    known = ", ".join(VENUES)
    if venue in UNIFIED_VENUES:
        raise argparse.ArgumentTypeError(f"{text}: the unified tables record {venue} as venue "
                                         f"{UNIFIED_VENUES[venue]} (its account ids tell it apart); known venues: "
                                         f"{known}")
    raise argparse.ArgumentTypeError(f"unknown venue {text!r}; known venues: {known}")


def since_arg(text: str, now: datetime | None = None) -> datetime:
    """``2026-12-01``, ``2026-12-01T10:00`` (UTC unless it names an offset) or an age: ``90s``, ``15m``, ``2h``,
    ``1d``, ``1w``."""
    age = _AGE.match(text.strip())
    if age is not None:
        return (now or datetime.now(UTC)) - timedelta(seconds=float(age["amount"]) * _UNIT_SECS[age["unit"]])
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a time (2026-12-01T10:00, UTC unless it has an "
                                         "offset) nor an age (90s, 15m, 2h, 1d, 1w)") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def limit_arg(text: str) -> int | None:
    """A positive number of rows; 0 means all."""
    try:
        limit = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of rows") from None
    if limit < 0:
        raise argparse.ArgumentTypeError("--limit must be 0 (all rows) or more")
    return limit or None


def add_listing_filters(parser: argparse.ArgumentParser, *, venue: bool) -> None:
    if venue:
        parser.add_argument("--venue", type=venue_arg, help=f"only this venue ({', '.join(VENUES)})")
    parser.add_argument("--since", type=since_arg, help="only rows from this time on: 2026-12-01T10:00 (UTC) or an "
                                                        "age such as 15m, 2h, 1d")
    parser.add_argument("--limit", type=limit_arg, default=DEFAULT_LIMIT,
                        help=f"the most recent N rows (default {DEFAULT_LIMIT}; 0: all)")
