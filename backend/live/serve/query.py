"""Query parameters of the JSON API and its keyset cursors (pure: no I/O).

Every bad parameter is reported in one answer (``{"errors": {"limit": "...", "since": "..."}}``), never a
partial result. A cursor is the last row's sort key, base64url-encoded JSON: opaque to clients, checked on return.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
VENUES = ("BINANCE", "BYBIT", "OKX")
ORDER_STATUSES = ("OPEN", "INITIALIZED", "DENIED", "EMULATED", "RELEASED", "SUBMITTED", "ACCEPTED", "REJECTED",
                  "CANCELED", "EXPIRED", "TRIGGERED", "PENDING_UPDATE", "PENDING_CANCEL", "PARTIALLY_FILLED", "FILLED")


class BadQuery(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


class Query(msgspec.Struct, frozen=True):
    trader: str | None = None
    venue: str | None = None
    instrument: str | None = None
    status: str | None = None
    since: datetime | None = None
    resolved: bool | None = None
    limit: int = DEFAULT_LIMIT
    cursor: tuple[Any, ...] | None = None


def encode_cursor(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode([str(k) if not isinstance(k, int) else k for k in key])).decode()


def _decode_cursor(text: str, types: Sequence[type]) -> tuple[Any, ...]:
    try:
        values = msgspec.json.decode(base64.urlsafe_b64decode(text.encode()))
    except (binascii.Error, msgspec.DecodeError, ValueError):
        raise ValueError("not a cursor this API returned") from None
    if not isinstance(values, list) or len(values) != len(types) or not all(isinstance(v, t) for v, t in
                                                                              zip(values, types, strict=True)):
        raise ValueError("not a cursor of this list")
    return tuple(values)


def parse_query(params: Mapping[str, str], allowed: Sequence[str], cursor_types: Sequence[type]) -> Query:
    """The filters of one request; raises ``BadQuery`` naming every bad or unknown parameter."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name in params:
        if name not in allowed:
            errors[name] = f"unknown parameter (this list takes {', '.join(allowed)})"
    for name in ("trader", "instrument"):
        text = params.get(name, "").strip()
        if name in allowed and text:
            values[name] = text
    venue = params.get("venue", "").strip().upper()
    if "venue" in allowed and venue:
        if venue in VENUES:
            values["venue"] = venue
        else:
            errors["venue"] = f"{venue!r} is not one of {', '.join(VENUES)}"
    status = params.get("status", "").strip().upper()
    if "status" in allowed and status:
        if status in ORDER_STATUSES:
            values["status"] = status
        else:
            errors["status"] = f"{status!r} is not one of {', '.join(s.lower() for s in ORDER_STATUSES)}"
    since = params.get("since", "").strip()
    if "since" in allowed and since:
        try:
            parsed = datetime.fromisoformat(since.replace("Z", "+00:00"))
            values["since"] = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            errors["since"] = f"{since!r} is not an ISO-8601 time (e.g. 2026-12-01T21:00:00Z)"
    resolved = params.get("resolved", "").strip().lower()
    if "resolved" in allowed and resolved:
        if resolved in ("true", "false"):
            values["resolved"] = resolved == "true"
        else:
            errors["resolved"] = "expected true or false"
    limit = params.get("limit", "").strip()
    if limit:
        if limit.isdigit() and 1 <= int(limit) <= MAX_LIMIT:
            values["limit"] = int(limit)
        else:
            errors["limit"] = f"expected an integer from 1 to {MAX_LIMIT}"
    cursor = params.get("cursor", "").strip()
    if cursor:
        try:
            values["cursor"] = _decode_cursor(cursor, cursor_types)
        except ValueError as exc:
            errors["cursor"] = str(exc)
    if errors:
        raise BadQuery(errors)
    return Query(**values)
