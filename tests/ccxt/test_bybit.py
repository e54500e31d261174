"""ccxt's everyday unified calls against the simulated Bybit v5 (spot + linear, unified account), unmodified."""

from __future__ import annotations

from collections.abc import Iterator

import ccxt
import pytest

from backend.simulator.config import SimConfig
from backend.simulator.harness import SimulatorThread
from tests.ccxt import clients
from tests.ccxt.everyday import PERP, EverydayCalls, Profile

PROFILE = Profile(
    venue="bybit", client=clients.bybit, spot_symbol="BTCUSDT", perp_symbol="BTCUSDT", spot_market="spot",
    perp_market="linear", spot_amount=0.001, perp_amount=0.01,
    # ccxt refuses fetchOrder on Bybit unless told it knows the venue only looks at the last 500 orders
    fetch_order_params={"acknowledged": True},
    # Bybit linear conditional orders need the direction the price must cross (ccxt sends none for spot)
    spot_stop_params=lambda price: {"triggerPrice": price},
    perp_stop_params=lambda price: {"triggerPrice": price, "triggerDirection": "ascending"},
    spot_stop_query={"trigger": True}, perp_stop_query={"trigger": True},
    invalid_order=lambda ex: ex.create_order(PERP, "market", "sell", 0.01, None, {"reduceOnly": True}),
)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimConfig.default(["bybit"], tick_interval_ms=0)) as running:
        yield running


@pytest.fixture(scope="module")
def ex(sim: SimulatorThread) -> ccxt.Exchange:
    exchange = clients.bybit(sim.urls["bybit"])
    exchange.load_markets()
    return exchange


@pytest.fixture
def profile() -> Profile:
    return PROFILE


class TestBybit(EverydayCalls):
    pass
