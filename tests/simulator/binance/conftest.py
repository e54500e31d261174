"""Binance protocol tests: the simulator in the test's loop (manual clock, no background ticks) and signed clients."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from backend.simulator.config import DEMO_ACCOUNT_ID, SimConfig
from backend.simulator.harness import run_simulator
from backend.simulator.server import SimulatorServer
from backend.simulator.venues.binance.client import SignedClient, ed25519_signer, hmac_signer
from backend.simulator.venues.binance.defaults import (
    DEMO_BINANCE_ED25519_KEY,
    DEMO_BINANCE_ED25519_PRIVATE_KEY_PEM,
    DEMO_BINANCE_HMAC_KEY,
    DEMO_BINANCE_HMAC_SECRET,
)

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def binance_config() -> SimConfig:
    return SimConfig.default(venues=("binance",), tick_interval_ms=0, manual_clock=True, clock_start_ms=START_MS)


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorServer]:
    async with run_simulator(binance_config()) as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def client(sim: SimulatorServer, session: aiohttp.ClientSession, market: str, key: str = "hmac") -> SignedClient:
    """A client of ``market`` signing with the demo HMAC or Ed25519 key, timestamps from the simulator's clock."""
    url = sim.urls["binance"][market]
    clock = sim.exchange("binance", market).clock
    if key == "hmac":
        return SignedClient(session, url, DEMO_BINANCE_HMAC_KEY, hmac_signer(DEMO_BINANCE_HMAC_SECRET), clock.now_ms)
    return SignedClient(session, url, DEMO_BINANCE_ED25519_KEY, ed25519_signer(DEMO_BINANCE_ED25519_PRIVATE_KEY_PEM),
                        clock.now_ms)


@pytest.fixture
def spot(sim: SimulatorServer, session: aiohttp.ClientSession) -> SignedClient:
    return client(sim, session, "spot")


@pytest.fixture
def futures(sim: SimulatorServer, session: aiohttp.ClientSession) -> SignedClient:
    return client(sim, session, "usdt_futures")


@pytest.fixture
def futures_ed25519(sim: SimulatorServer, session: aiohttp.ClientSession) -> SignedClient:
    return client(sim, session, "usdt_futures", key="ed25519")


def books(sim: SimulatorServer) -> str:
    """Everything a rejected request must leave unchanged: balances, positions, orders and fills of both markets."""
    snapshot: dict[str, Any] = {}
    for market in ("spot", "usdt_futures"):
        exchange = sim.exchange("binance", market)
        account = exchange.account(DEMO_ACCOUNT_ID)
        snapshot[market] = {
            "balances": {a: [str(b.total), str(b.locked)] for a, b in account.balances.items()},
            "positions": {s: str(p.quantity) for s, p in account.positions.items()},
            "orders": [o.order_id for o in exchange.order_history(DEMO_ACCOUNT_ID)],
            "fills": [f.trade_id for f in exchange.fills(DEMO_ACCOUNT_ID)],
        }
    return json.dumps(snapshot, sort_keys=True)


async def control(session: aiohttp.ClientSession, sim: SimulatorServer, market: str, action: str,
                  body: dict[str, Any] | None = None) -> Any:
    async with session.post(f"{sim.urls['binance'][market]}/_sim/{action}", json=body or {}) as response:
        assert response.status == 200, await response.text()
        return await response.json()
