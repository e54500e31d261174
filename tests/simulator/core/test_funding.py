"""The funding core alone: who pays whom, exact decimal amounts, boundaries, catching up after a clock jump, config."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from backend.simulator.config import DEMO_ACCOUNT_ID, SimConfig, SimConfigError
from backend.simulator.core import funding
from backend.simulator.core.clock import SimClock
from backend.simulator.core.events import AccountUpdate
from backend.simulator.core.funding import FundingPayment
from backend.simulator.core.instruments import SimInstrument
from backend.simulator.core.matching import SimExchange
from backend.simulator.harness import run_simulator
from tests.waiting import wait_until

D = Decimal
HOUR = 3_600_000
START = 1_767_225_600_000 + HOUR  # 01:00 UTC


def perpetual(contract_size: str = "1") -> SimExchange:
    instrument = SimInstrument(symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT", kind="perpetual",
                               tick_size=D("0.1"), lot_size=D("0.001"), min_quantity=D("0.001"), min_notional=D("0"),
                               start_price=D("50000"), liquidity=D("10"), contract_size=D(contract_size))
    exchange = SimExchange("test-perp", [instrument], SimClock(manual=True, start_ms=START), seed=1)
    for account in ("long", "short", "flat"):
        exchange.add_account(account, {"USDT": D("10000")})
    exchange.place_order("long", "BTCUSDT", "BUY", "MARKET", D("0.100"))
    exchange.place_order("short", "BTCUSDT", "SELL", "MARKET", D("0.300"))
    return exchange


def usdt(exchange: SimExchange, account: str) -> D:
    return exchange.account(account).balances["USDT"].total


def test_longs_pay_shorts_receive_position_times_mark_times_rate_and_flat_pays_nothing() -> None:
    exchange = perpetual()
    events: list[object] = []
    exchange.subscribe(events.append)
    before = {a: usdt(exchange, a) for a in ("long", "short", "flat")}
    fills = exchange.fills("long") + exchange.fills("short")
    payments = funding.settle_now(exchange)
    mark = exchange.markets["BTCUSDT"].last_price
    assert {p.account_id: p.amount for p in payments} == {
        "long": -(D("0.100") * mark * D("0.0001")).quantize(D("1E-8")),
        "short": (D("0.300") * mark * D("0.0001")).quantize(D("1E-8")),
    }
    for p in payments:
        assert usdt(exchange, p.account_id) == before[p.account_id] + p.amount == p.balance_after
    assert usdt(exchange, "flat") == before["flat"]
    assert exchange.fills("long") + exchange.fills("short") == fills  # funding is never a fill
    assert exchange.position("long", "BTCUSDT").quantity == D("0.100")
    kinds = [(type(e).__name__, getattr(e, "reason", None)) for e in events]
    assert kinds == [("FundingPayment", None), ("AccountUpdate", "FUNDING")] * 2
    assert all(isinstance(e, (FundingPayment, AccountUpdate)) for e in events)


def test_contract_sized_positions_pay_on_their_base_value() -> None:
    exchange = perpetual(contract_size="0.01")
    [long_payment, _] = funding.settle_now(exchange)
    mark = exchange.markets["BTCUSDT"].last_price
    assert long_payment.amount == -(D("0.100") * D("0.01") * mark * D("0.0001")).quantize(D("1E-8"))


def test_settles_at_each_boundary_once_and_catches_up_after_a_jump() -> None:
    exchange = perpetual()
    schedule = exchange.funding
    assert schedule is not None and schedule.next_ms == START - HOUR + 8 * HOUR  # 08:00 UTC
    exchange.clock.advance(7 * HOUR - 1)
    assert funding.settle_due(exchange) == []
    exchange.clock.advance(1)
    assert len(funding.settle_due(exchange)) == 2  # two positions
    assert funding.settle_due(exchange) == []  # once per boundary
    exchange.clock.advance(24 * HOUR)
    payments = funding.settle_due(exchange)
    assert sorted({p.time_ms for p in payments}) == [START + 15 * HOUR, START + 23 * HOUR, START + 31 * HOUR]
    assert [(s.time_ms, s.rate) for s in schedule.settlements][0] == (START + 7 * HOUR, D("0.0001"))


def test_rates_are_bounded_and_spot_has_no_funding() -> None:
    exchange = perpetual()
    assert exchange.funding is not None
    with pytest.raises(ValueError, match="rate: must be between"):
        exchange.funding.set_rate("BTCUSDT", D("0.5"))
    with pytest.raises(ValueError, match="symbol"):
        exchange.funding.set_rate("ETHUSDT", D("0.0001"))
    spot = SimExchange("spot", [SimInstrument(symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT", kind="spot",
                                              tick_size=D("0.01"), lot_size=D("0.0001"), min_quantity=D("0.0001"),
                                              min_notional=D("0"), start_price=D("50000"), liquidity=D("1"))],
                       SimClock(manual=True, start_ms=START), seed=1)
    assert spot.funding is None and funding.settle_now(spot) == []


def test_config_names_bad_funding_fields() -> None:
    config = SimConfig.default(["binance"])
    market = config.venues["binance"].markets["usdt_futures"]
    bad_interval = msgspec.structs.replace(market, funding_interval_ms=10)
    venues = {"binance": msgspec.structs.replace(config.venues["binance"], markets={
        **config.venues["binance"].markets, "usdt_futures": bad_interval})}
    with pytest.raises(SimConfigError, match="usdt_futures.funding_interval_ms"):
        msgspec.structs.replace(config, venues=venues)


async def test_the_server_settles_at_a_configured_interval_in_real_time() -> None:
    config = SimConfig.default(["binance"], tick_interval_ms=0)
    venue = config.venues["binance"]
    fast = msgspec.structs.replace(venue.markets["usdt_futures"], funding_interval_ms=1000, funding_rate=D("0.002"))
    config = msgspec.structs.replace(config, venues={"binance": msgspec.structs.replace(
        venue, markets={**venue.markets, "usdt_futures": fast})})
    async with run_simulator(config) as sim:
        exchange = sim.exchange("binance", "usdt_futures")
        assert exchange.funding is not None and exchange.funding.interval_ms == 1000
        exchange.place_order(DEMO_ACCOUNT_ID, "BTCUSDT", "BUY", "MARKET", D("0.010"))
        await wait_until(lambda: exchange.funding.payments(DEMO_ACCOUNT_ID) != [], "a funding settlement", timeout=5)
        [payment, *_] = exchange.funding.payments(DEMO_ACCOUNT_ID)
        assert payment.time_ms % 1000 == 0 and payment.rate == D("0.002") and payment.amount < 0
