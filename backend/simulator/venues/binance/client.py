"""A minimal signed Binance REST / WebSocket API client (aiohttp) for protocol tests and the benchmark.

Signs like Binance's own connectors: HMAC-SHA256 hex of the urlencoded query, or Ed25519 (base64) when given an
Ed25519 private key (raw 32-byte seed or PKCS#8, base64 or PEM). Answers come back as ``(HTTP status, JSON)`` so
callers can assert on Binance's error bodies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import aiohttp
import msgspec
from nacl.signing import SigningKey
from yarl import URL

from backend.simulator.venues.binance.signing import ws_api_payload

_URL_SAFE = re.compile(r"[A-Za-z0-9_.\-]*")


def _urlencode(params: dict[str, Any]) -> str:
    """``urllib.parse.urlencode`` output, with a fast path for values that need no quoting (most of them)."""
    parts = []
    for key, value in params.items():
        text = str(value)
        parts.append(f"{key}={text}" if _URL_SAFE.fullmatch(text) else urlencode({key: text}))
    return "&".join(parts)


def hmac_signer(secret: str) -> Callable[[str], str]:
    return lambda payload: hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def ed25519_signer(private_key: str) -> Callable[[str], str]:
    """Sign with an Ed25519 private key given like NautilusTrader takes it (the last 32 decoded bytes are the seed)."""
    data = "".join(line for line in private_key.strip().splitlines() if not line.startswith("-----"))
    key = SigningKey(base64.b64decode(data)[-32:])
    return lambda payload: base64.b64encode(key.sign(payload.encode()).signature).decode()


class SignedClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        api_key: str | None,
        sign: Callable[[str], str] | None,
        now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.sign = sign
        self.now_ms = now_ms

    async def request(
        self, method: str, path: str, params: dict[str, Any] | None = None, *, signed: bool = True,
        timestamp: int | None = None, signature: str | None = None,
    ) -> tuple[int, Any]:
        """Send ``params`` in the query string like NautilusTrader does; ``signature`` overrides the computed one."""
        status, body = await self.request_raw(method, path, params, signed=signed, timestamp=timestamp,
                                              signature=signature)
        return status, msgspec.json.decode(body) if body else None

    async def request_raw(
        self, method: str, path: str, params: dict[str, Any] | None = None, *, signed: bool = True,
        timestamp: int | None = None, signature: str | None = None,
    ) -> tuple[int, bytes]:
        """Like ``request`` but the body comes back as the bytes sent (for byte-for-byte comparisons)."""
        query = dict(params or {})
        if signed:
            query["timestamp"] = timestamp if timestamp is not None else self.now_ms()
        text = _urlencode(query)
        if signed:
            assert self.sign is not None, "a signed request needs a signer"
            text += "&" + _urlencode({"signature": signature if signature is not None else self.sign(text)})
        headers = {"X-MBX-APIKEY": self.api_key} if self.api_key is not None else {}
        url = URL(f"{self.base_url}{path}" + (f"?{text}" if text else ""), encoded=True)  # already encoded above
        async with self.session.request(method, url, headers=headers) as response:
            return response.status, await response.read()

    def logon_params(self, timestamp: int | None = None) -> dict[str, Any]:
        """``session.logon`` params for the WebSocket API, signed over the sorted params."""
        assert self.sign is not None and self.api_key is not None
        now = timestamp if timestamp is not None else self.now_ms()
        params: dict[str, Any] = {"apiKey": self.api_key, "timestamp": now}
        params["signature"] = self.sign(ws_api_payload(params))
        return params
