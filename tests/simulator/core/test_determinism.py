"""Same seed + same script => byte-identical results; different seeds diverge."""

from __future__ import annotations

from decimal import Decimal as D

import msgspec

from backend.simulator.core import SimClock, SimExchange
from tests.simulator.core.conftest import START_MS, spot_btc


def run_script(seed: int) -> bytes:
    exchange = SimExchange("det", [spot_btc()], SimClock(manual=True, start_ms=START_MS), seed=seed)
    exchange.add_account("a1", {"USDT": D("1000000"), "BTC": D("10")})
    events: list[object] = []
    exchange.subscribe(events.append)
    exchange.set_liquidity("BTCUSDT", D("0.3"))
    exchange.place_order("a1", "BTCUSDT", "BUY", "MARKET", D("1"))
    for i in range(5):
        exchange.place_order("a1", "BTCUSDT", "BUY", "LIMIT", D("0.5"), price=D("49990") - i, client_order_id=f"b{i}")
        exchange.place_order("a1", "BTCUSDT", "SELL", "LIMIT", D("0.5"), price=D("50010") + i)
    exchange.step(200)
    record = {
        "fills": exchange.fills("a1"),
        "orders": [repr(o) for o in exchange.order_history("a1")],
        "events": [repr(e) for e in events],
        "trades": exchange.recent_trades("BTCUSDT"),
        "balances": exchange.account("a1").balances,
    }
    return msgspec.json.encode(record)


def test_same_seed_same_script_is_byte_identical() -> None:
    first = run_script(42)
    assert first == run_script(42)
    assert b'"is_maker":true' in first  # resting orders did fill while the market walked


def test_different_seed_gives_a_different_walk() -> None:
    assert run_script(42) != run_script(43)
