"""Perpetual positions, PnL, margin and fees in exact decimals; unified ledgers; reduce-only."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from backend.simulator.core import Ledger, PositionUpdate, SimClock, SimError, SimExchange
from tests.simulator.core.conftest import START_MS, perp_btc, spot_btc


def test_open_add_reduce_and_flip_position_with_exact_pnl(perp: SimExchange) -> None:
    perp.place_order("a1", "BTC-PERP", "BUY", "LIMIT", D("1"), price=D("50000.1"))  # taker at 50000.1
    perp.set_price("BTC-PERP", D("49000"))
    perp.place_order("a1", "BTC-PERP", "BUY", "LIMIT", D("1"), price=D("49000.1"))  # taker at 49000.1
    position = perp.position("a1", "BTC-PERP")
    assert (position.quantity, position.entry_price) == (D("2"), D("49500.1"))
    assert position.unrealized_pnl == D("-1000.2")
    perp.set_price("BTC-PERP", D("51000"))
    perp.set_liquidity("BTC-PERP", D("10"))
    perp.place_order("a1", "BTC-PERP", "SELL", "MARKET", D("3"))  # closes 2 at 50999.9, opens short 1
    fill = perp.fills("a1")[-1]
    assert (fill.price, fill.realized_pnl) == (D("50999.9"), (D("50999.9") - D("49500.1")) * 2)
    assert fill.fee == D("50999.9") * 3 * D("0.0005")
    position = perp.position("a1", "BTC-PERP")
    assert (position.quantity, position.entry_price, position.side) == (D("-1"), D("50999.9"), "SHORT")
    fees = sum((f.fee for f in perp.fills("a1")), D(0))
    account = perp.account("a1")
    assert account.balances["USDT"].total == D("100000") + D("2999.6") - fees
    margin = account.margins["USDT"]
    assert margin.position_initial_margin == D("51000") / 10
    assert margin.maintenance_margin == D("51000") * D("0.005")
    assert margin.unrealized_pnl == D("-0.1")
    assert margin.available_balance == margin.wallet_balance + margin.unrealized_pnl - D("5100")


def test_resting_order_holds_margin_and_leverage_changes_it(perp: SimExchange) -> None:
    perp.set_leverage("a1", "BTC-PERP", 5)
    order = perp.place_order("a1", "BTC-PERP", "BUY", "LIMIT", D("1"), price=D("40000"))
    assert perp.account("a1").margins["USDT"].open_order_margin == D("8000")
    perp.cancel_order("a1", "BTC-PERP", order_id=order.order_id)
    assert perp.account("a1").margins["USDT"].available_balance == D("100000")
    with pytest.raises(SimError) as exc:
        perp.place_order("a1", "BTC-PERP", "BUY", "LIMIT", D("13"), price=D("40000"))
    assert exc.value.kind == "insufficient_balance"


def test_reduce_only_rules(perp: SimExchange) -> None:
    with pytest.raises(SimError) as exc:
        perp.place_order("a1", "BTC-PERP", "SELL", "MARKET", D("1"), reduce_only=True)
    assert exc.value.kind == "reduce_only_rejected"
    perp.place_order("a1", "BTC-PERP", "BUY", "MARKET", D("0.5"))
    with pytest.raises(SimError) as exc:
        perp.place_order("a1", "BTC-PERP", "BUY", "MARKET", D("0.1"), reduce_only=True)
    assert exc.value.kind == "reduce_only_rejected"
    closing = perp.place_order("a1", "BTC-PERP", "SELL", "MARKET", D("2"), reduce_only=True)
    assert (closing.filled_quantity, closing.status) == (D("0.5"), "EXPIRED")
    assert perp.position("a1", "BTC-PERP").quantity == 0


def test_contract_sized_perpetual_uses_contracts() -> None:
    exchange = SimExchange("swap", [perp_btc(contract_size=D("0.01"))], SimClock(manual=True, start_ms=START_MS),
                           seed=1)
    exchange.add_account("a1", {"USDT": D("100000")})
    events: list[object] = []
    exchange.subscribe(events.append)
    exchange.place_order("a1", "BTC-PERP", "BUY", "MARKET", D("100"))  # 100 contracts = 1 BTC
    fill = exchange.fills("a1")[0]
    assert (fill.quantity, fill.quote_quantity, fill.fee) == (D("100"), D("50000.1"), D("25.00005"))
    exchange.set_price("BTC-PERP", D("51000.1"))
    position = exchange.position("a1", "BTC-PERP")
    assert (position.quantity, position.unrealized_pnl, position.notional) == (D("100"), D("1000"), D("51000.1"))
    assert any(isinstance(e, PositionUpdate) and e.position.quantity == 100 for e in events)


def test_unified_ledger_is_shared_between_spot_and_perpetual() -> None:
    clock = SimClock(manual=True, start_ms=START_MS)
    spot = SimExchange("u-spot", [spot_btc()], clock, seed=7)
    linear = SimExchange("u-linear", [perp_btc()], clock, seed=7)
    ledger = Ledger({"USDT": D("10000"), "BTC": D("0")})
    spot.add_account("u1", ledger=ledger)
    linear.add_account("u1", ledger=ledger)
    linear.place_order("u1", "BTC-PERP", "BUY", "LIMIT", D("1"), price=D("40000"))  # holds 4000 USDT margin
    assert spot.account("u1").balances["USDT"].free == D("6000")
    spot.place_order("u1", "BTCUSDT", "BUY", "MARKET", D("0.1"))
    assert linear.account("u1").balances["BTC"].total == D("0.0999")
    assert linear.account("u1").margins["USDT"].wallet_balance == D("10000") - D("5000.001")


def test_fees_pnl_and_margin_holds_are_rounded_to_asset_places(perp: SimExchange) -> None:
    perp.set_leverage("a1", "BTC-PERP", 3)
    resting = perp.place_order("a1", "BTC-PERP", "BUY", "LIMIT", D("0.005"), price=D("40000.1"))
    assert perp.account("a1").margins["USDT"].open_order_margin == D("66.66683333")  # 200.0005 / 3, half up
    perp.cancel_order("a1", "BTC-PERP", order_id=resting.order_id)
    perp.place_order("a1", "BTC-PERP", "BUY", "MARKET", D("0.005"))  # 0.005 @ 50000.1 x 0.0005 = 0.1250002500
    fill = perp.fills("a1")[-1]
    assert (fill.fee, str(fill.fee)) == (D("0.12500025"), "0.12500025")
    usdt = perp.account("a1").balances["USDT"]
    assert (usdt.total, usdt.locked) == (D("99999.87499975"), 0)
