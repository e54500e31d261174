"""A plain OKX v5 client for protocol tests (aiohttp, signing by hand) and a running OKX-only simulator.

The simulator's market does not move on its own here (``tick_interval_ms=0``), so prices and fills are exact.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from backend.simulator.config import SimConfig
from backend.simulator.harness import run_simulator
from backend.simulator.venues.okx import signing
from backend.simulator.venues.okx.defaults import DEMO_OKX_KEY, DEMO_OKX_PASSPHRASE, DEMO_OKX_SECRET

RECEIVE_TIMEOUT = 5.0


@dataclass(frozen=True)
class Keys:
    api_key: str = DEMO_OKX_KEY
    secret: str = DEMO_OKX_SECRET
    passphrase: str = DEMO_OKX_PASSPHRASE


class OkxRest:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, keys: Keys = Keys()) -> None:
        self.session, self.base_url, self.keys = session, base_url, keys

    def headers(self, method: str, path: str, body: str, *, keys: Keys | None = None,
                timestamp: str | None = None, signature: str | None = None) -> dict[str, str]:
        keys = keys or self.keys
        timestamp = timestamp or signing.format_rest_timestamp(int(time.time() * 1000))
        return {
            "OK-ACCESS-KEY": keys.api_key,
            "OK-ACCESS-PASSPHRASE": keys.passphrase,
            "OK-ACCESS-TIMESTAMP": timestamp,
            "OK-ACCESS-SIGN": signature or signing.rest_signature(keys.secret, timestamp, method, path, body),
            "Content-Type": "application/json",
        }

    async def request(self, method: str, path: str, body: Any = None, *, signed: bool = True,
                      **header_overrides: Any) -> tuple[int, dict[str, Any]]:
        text = "" if body is None else json.dumps(body)
        headers = self.headers(method, path, text, **header_overrides) if signed else {}
        async with self.session.request(method, self.base_url + path, data=text or None, headers=headers) as response:
            return response.status, await response.json()

    async def get(self, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, body: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        return await self.request("POST", path, body, **kwargs)


class OkxSocket:
    """One WebSocket connection; ``receive`` skips nothing, ``receive_until`` skips messages not matching."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._held: list[dict[str, Any]] = []  # pushes that arrived while ``subscribe`` waited for its acks

    async def send(self, payload: Any) -> None:
        await self.ws.send_str(payload if isinstance(payload, str) else json.dumps(payload))

    async def receive_text(self) -> str:
        message = await asyncio.wait_for(self.ws.receive(), RECEIVE_TIMEOUT)
        assert message.type == aiohttp.WSMsgType.TEXT, f"expected a text frame, got {message.type}"
        return message.data

    async def receive(self) -> dict[str, Any]:
        if self._held:
            return self._held.pop(0)
        return json.loads(await self.receive_text())

    async def receive_until(self, predicate: Any) -> dict[str, Any]:
        while True:
            message = await self.receive()
            if predicate(message):
                return message

    async def login(self, keys: Keys = Keys(), timestamp: str | None = None, sign: str | None = None) -> dict:
        timestamp = timestamp or str(int(time.time()))
        signature = sign or signing.ws_login_signature(keys.secret, timestamp)
        await self.send({"op": "login", "args": [{"apiKey": keys.api_key, "passphrase": keys.passphrase,
                                                  "timestamp": timestamp, "sign": signature}]})
        return await self.receive()

    async def subscribe(self, *args: dict[str, Any]) -> None:
        await self.send({"op": "subscribe", "args": list(args)})
        held = []
        for arg in args:
            ack = json.loads(await self.receive_text())
            while ack.get("event") not in ("subscribe", "error"):
                held.append(ack)
                ack = json.loads(await self.receive_text())
            assert ack.get("event") == "subscribe", ack
            assert ack["arg"] == arg
        self._held.extend(held)


@dataclass
class OkxSim:
    sim: Any
    rest: OkxRest
    http: aiohttp.ClientSession

    @property
    def spot(self) -> Any:
        return self.sim.exchange("okx", "spot")

    @property
    def swap(self) -> Any:
        return self.sim.exchange("okx", "swap")

    async def socket(self, endpoint: str) -> OkxSocket:
        url = self.sim.env[f"SIM_OKX_WS_{endpoint.upper()}"]
        return OkxSocket(await self.http.ws_connect(url, autoping=True))

    async def private_socket(self) -> OkxSocket:
        socket = await self.socket("private")
        login = await socket.login()
        assert login == {"event": "login", "code": "0", "msg": "", "connId": login["connId"]}
        return socket


@pytest.fixture
async def okx() -> AsyncIterator[OkxSim]:
    config = SimConfig.default(venues=("okx",), tick_interval_ms=0)
    async with run_simulator(config) as sim, aiohttp.ClientSession() as http:
        yield OkxSim(sim=sim, rest=OkxRest(http, sim.env["SIM_OKX_HTTP"]), http=http)
