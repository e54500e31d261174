"""ccxt's everyday unified calls against the simulated Binance (spot + USD-M futures), unmodified."""

from __future__ import annotations

from collections.abc import Iterator

import ccxt
import pytest

from backend.simulator.config import SimConfig
from backend.simulator.harness import SimulatorThread
from tests.ccxt import clients
from tests.ccxt.everyday import EverydayCalls, Profile

PROFILE = Profile(
    venue="binance", client=clients.binance, spot_symbol="BTCUSDT", perp_symbol="BTCUSDT", spot_market="spot",
    perp_market="usdt_futures", spot_amount=0.001, perp_amount=0.01, edit_keeps_id=False,
    control_url=lambda urls, market: urls[market],
    perp_stop_query={"trigger": True},  # USD-M stops are algo orders (/fapi/v1/algoOrder) until they trigger
    invalid_order=lambda ex: ex.create_order("BTC/USDT", "market", "buy", 2_000_000),  # LOT_SIZE: above maxQty
    # ccxt raises DDoSProtection for any HTTP 429 from Binance before it reads the -1003 body
    rate_limit_errors=(ccxt.RateLimitExceeded, ccxt.DDoSProtection),
    perp_ticker_has_book=False, position_shows_leverage=False,
)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimConfig.default(["binance"], tick_interval_ms=0)) as running:
        yield running


@pytest.fixture(scope="module")
def ex(sim: SimulatorThread) -> ccxt.Exchange:
    exchange = clients.binance(sim.urls["binance"])
    exchange.load_markets()
    return exchange


@pytest.fixture
def profile() -> Profile:
    return PROFILE


class TestBinance(EverydayCalls):
    pass
