"""Small deterministic exchanges for core tests (manual clock, fixed start time)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from backend.simulator.core import FaultState, SimClock, SimExchange, SimInstrument

START_MS = 1_767_225_600_000


def spot_btc() -> SimInstrument:
    return SimInstrument(symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT", kind="spot", tick_size=D("0.01"),
                         lot_size=D("0.001"), min_quantity=D("0.001"), min_notional=D("5"), start_price=D("50000"),
                         liquidity=D("1"))


def perp_btc(contract_size: D = D(1)) -> SimInstrument:
    return SimInstrument(symbol="BTC-PERP", base_asset="BTC", quote_asset="USDT", kind="perpetual",
                         tick_size=D("0.1"), lot_size=D("0.001") if contract_size == 1 else D("1"),
                         min_quantity=D("0.001") if contract_size == 1 else D("1"), min_notional=D("5"),
                         start_price=D("50000"), liquidity=D("1") if contract_size == 1 else D("100"),
                         contract_size=contract_size)


@pytest.fixture
def faults() -> FaultState:
    return FaultState()


@pytest.fixture
def spot(faults: FaultState) -> SimExchange:
    exchange = SimExchange("test-spot", [spot_btc()], SimClock(manual=True, start_ms=START_MS), seed=42, faults=faults)
    exchange.add_account("a1", {"USDT": D("100000"), "BTC": D("2")})
    return exchange


@pytest.fixture
def perp() -> SimExchange:
    exchange = SimExchange("test-perp", [perp_btc()], SimClock(manual=True, start_ms=START_MS), seed=42)
    exchange.add_account("a1", {"USDT": D("100000")})
    return exchange
