"""A minimal Bybit v5 client for protocol tests: signed REST calls and authenticated WebSockets over aiohttp."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp

from backend.simulator.venues.bybit.defaults import DEMO_BYBIT_KEY, DEMO_BYBIT_SECRET

RECV_WINDOW = "5000"
WAIT_SECS = 5.0


def now_ms() -> int:
    return int(time.time() * 1000)


def sign(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


class BybitClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, api_key: str = DEMO_BYBIT_KEY,
                 secret: str = DEMO_BYBIT_SECRET) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.secret = secret

    def _headers(self, payload: str, timestamp: int | None) -> dict[str, str]:
        stamp = str(now_ms() if timestamp is None else timestamp)
        return {
            "X-BAPI-API-KEY": self.api_key,
            "X-BAPI-TIMESTAMP": stamp,
            "X-BAPI-RECV-WINDOW": RECV_WINDOW,
            "X-BAPI-SIGN": sign(self.secret, f"{stamp}{self.api_key}{RECV_WINDOW}{payload}"),
        }

    async def get(self, path: str, params: dict[str, str] | None = None, *, signed: bool = True,
                  timestamp: int | None = None) -> tuple[int, dict[str, Any]]:
        query = urlencode(params or {})
        headers = self._headers(query, timestamp) if signed else {}
        url = f"{self.base_url}{path}" + (f"?{query}" if query else "")
        async with self.session.get(url, headers=headers) as response:
            return response.status, await response.json()

    async def post(
        self, path: str, body: dict[str, Any], *, timestamp: int | None = None
    ) -> tuple[int, dict[str, Any]]:
        text = json.dumps(body)
        headers = {**self._headers(text, timestamp), "Content-Type": "application/json"}
        async with self.session.post(f"{self.base_url}{path}", data=text, headers=headers) as response:
            return response.status, await response.json()

    def ws_url(self, path: str) -> str:
        return "ws" + self.base_url.removeprefix("http") + path

    def auth_args(self, expires: int | None = None) -> list[Any]:
        expires = now_ms() + 10_000 if expires is None else expires
        return [self.api_key, expires, sign(self.secret, f"GET/realtime{expires}")]


async def receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.receive_str(), WAIT_SECS))


async def receive_topic(ws: aiohttp.ClientWebSocketResponse, topic: str) -> dict[str, Any]:
    """The next push on ``topic`` (other pushes in between are skipped)."""
    while True:
        message = await receive(ws)
        if message.get("topic") == topic:
            return message


async def receive_response(ws: aiohttp.ClientWebSocketResponse, req_id: str) -> dict[str, Any]:
    while True:
        message = await receive(ws)
        if message.get("reqId") == req_id:
            return message


async def receive_ack(ws: aiohttp.ClientWebSocketResponse, req_id: str) -> dict[str, Any]:
    """The next acknowledgement of the request ``req_id`` (``req_id`` in snake_case streams)."""
    while True:
        message = await receive(ws)
        if message.get("req_id") == req_id:
            return message
