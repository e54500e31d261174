"""Bybit v5 authentication: HMAC-SHA256 (hex) request signatures and the timestamp window.

REST: headers ``X-BAPI-API-KEY``, ``X-BAPI-TIMESTAMP`` (ms), ``X-BAPI-RECV-WINDOW`` (default 5000) and
``X-BAPI-SIGN`` = hex HMAC of ``timestamp + api_key + recv_window + payload``, the payload being the query string
exactly as sent (GET) or the raw JSON body (POST). The venue accepts a timestamp when
``server_time - recv_window <= timestamp < server_time + 1000``.

WebSocket (``/v5/private``, ``/v5/trade``): ``{"op": "auth", "args": [api_key, expires, signature]}`` with
``signature`` = hex HMAC of ``"GET/realtime" + expires``; ``expires`` (ms) must lie in the future.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from typing import Any

from backend.simulator.venues.bybit import errors

DEFAULT_RECV_WINDOW_MS = 5_000
MAX_CLOCK_AHEAD_MS = 1_000
WS_AUTH_PREFIX = "GET/realtime"


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def rest_origin_string(timestamp: str, api_key: str, recv_window: str, payload: str) -> str:
    return f"{timestamp}{api_key}{recv_window}{payload}"


def ws_auth_payload(expires: str) -> str:
    return f"{WS_AUTH_PREFIX}{expires}"


def signature_matches(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.lower().encode())


class Authenticator:
    """Checks REST headers and WebSocket ``auth`` args against the venue's keys and clock."""

    def __init__(self, credentials: Mapping[str, Any], now_ms: Callable[[], int]) -> None:
        self._credentials = credentials
        self._now_ms = now_ms

    def credential(self, api_key: str | None) -> Any:
        """The registered credential for ``api_key``; 10003 when it is missing or unknown."""
        credential = self._credentials.get(api_key) if api_key else None
        if credential is None:
            raise errors.invalid_api_key()
        return credential

    def verify_rest(self, headers: Mapping[str, str], payload: str) -> Any:
        """The credential of a correctly signed, fresh request: 10003 key, then 10002 timestamp, then 10004 sign."""
        api_key = headers.get("X-BAPI-API-KEY", "")
        credential = self.credential(api_key)
        timestamp = headers.get("X-BAPI-TIMESTAMP", "")
        recv_window = headers.get("X-BAPI-RECV-WINDOW", "") or str(DEFAULT_RECV_WINDOW_MS)
        self._check_timestamp(timestamp, recv_window)
        origin = rest_origin_string(timestamp, api_key, recv_window, payload)
        if not signature_matches(sign(credential.secret, origin), headers.get("X-BAPI-SIGN", "")):
            raise errors.bad_sign(origin)
        return credential

    def verify_ws_auth(self, args: object) -> Any:
        """The credential named by a WebSocket ``auth`` request; raises BybitApiError (10001/10003/10002/10004)."""
        if not isinstance(args, list) or len(args) != 3:
            raise errors.parameter_error("auth args must be [api_key, expires, signature]")
        api_key, expires, signature = (str(value) for value in args)
        credential = self.credential(api_key)
        try:
            expires_ms = int(expires)
        except ValueError:
            raise errors.parameter_error("auth expires must be an integer of milliseconds") from None
        if expires_ms <= self._now_ms():
            raise errors.ws_auth_expired()
        if not signature_matches(sign(credential.secret, ws_auth_payload(expires)), signature):
            raise errors.ws_bad_sign()
        return credential

    def _check_timestamp(self, timestamp: str, recv_window: str) -> None:
        now = self._now_ms()
        try:
            request_ms = int(timestamp)
            window = int(recv_window)
        except ValueError:
            raise errors.timestamp_outside_window(timestamp, now, recv_window) from None
        if not now - window <= request_ms < now + MAX_CLOCK_AHEAD_MS:
            raise errors.timestamp_outside_window(timestamp, now, recv_window)
