"""OKX v5 request signing: base64(HMAC-SHA256(secret, prehash)).

REST prehash: ``timestamp + METHOD + requestPath(+?query) + body`` with an ISO-8601 millisecond timestamp
(``2020-12-08T09:08:57.715Z``) in ``OK-ACCESS-TIMESTAMP``. WebSocket ``login`` prehash:
``timestamp + "GET" + "/users/self/verify"`` with the timestamp in Unix seconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from decimal import Decimal

WS_LOGIN_PATH = "/users/self/verify"


def sign(secret: str, prehash: str) -> str:
    digest = hmac.new(secret.encode(), prehash.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def rest_signature(secret: str, timestamp: str, method: str, request_path: str, body: str) -> str:
    return sign(secret, f"{timestamp}{method.upper()}{request_path}{body}")


def ws_login_signature(secret: str, timestamp: str) -> str:
    return sign(secret, f"{timestamp}GET{WS_LOGIN_PATH}")


def signatures_match(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def parse_rest_timestamp_ms(value: str) -> int | None:
    """Milliseconds since the epoch of an ``OK-ACCESS-TIMESTAMP`` value, or None if it is not ISO-8601 UTC."""
    try:
        parsed = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(parsed.timestamp() * 1000)


def parse_ws_timestamp_ms(value: str) -> int | None:
    """Milliseconds since the epoch of a WebSocket login timestamp (Unix seconds, decimals allowed)."""
    try:
        seconds = Decimal(value)
    except ArithmeticError:
        return None
    if not seconds.is_finite():
        return None
    return int(seconds * 1000)


def format_rest_timestamp(ms: int) -> str:
    """ISO-8601 UTC with milliseconds, the way OKX clients send ``OK-ACCESS-TIMESTAMP``."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
