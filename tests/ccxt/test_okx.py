"""ccxt's everyday unified calls against the simulated OKX v5 (spot + swap, unified account), unmodified."""

from __future__ import annotations

from collections.abc import Iterator

import ccxt
import pytest

from backend.simulator.config import SimConfig
from backend.simulator.harness import SimulatorThread
from tests.ccxt import clients
from tests.ccxt.everyday import EverydayCalls, Profile

PROFILE = Profile(
    venue="okx", client=clients.okx, spot_symbol="BTC-USDT", perp_symbol="BTC-USDT-SWAP", spot_market="spot",
    perp_market="swap", spot_amount=0.001, perp_amount=1, perp_base_per_amount=0.01,  # 1 contract = 0.01 BTC
    spot_stop_query={"trigger": True}, perp_stop_query={"trigger": True},  # OKX stops are algo orders
    has_cancel_all=False,  # ccxt has no cancelAllOrders for OKX
    # below the instrument's minimum size: 51020
    invalid_order=lambda ex: ex.create_order("BTC/USDT", "limit", "buy", 0.000001, 40000),
)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimConfig.default(["okx"], tick_interval_ms=0)) as running:
        yield running


@pytest.fixture(scope="module")
def ex(sim: SimulatorThread) -> ccxt.Exchange:
    exchange = clients.okx(sim.urls["okx"])
    exchange.load_markets()
    return exchange


@pytest.fixture
def profile() -> Profile:
    return PROFILE


class TestOkx(EverydayCalls):
    pass
