"""SimExchange order outcomes, balances and fees in exact decimals (spot)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from backend.simulator.core import AccountUpdate, OrderUpdate, PublicTrade, SimError, SimExchange


def balances(exchange: SimExchange, account: str = "a1") -> dict[str, tuple[D, D]]:
    return {a: (b.free, b.locked) for a, b in exchange.account(account).balances.items()}


def test_market_buy_walks_levels_and_charges_fee_in_base(spot: SimExchange) -> None:
    order = spot.place_order("a1", "BTCUSDT", "BUY", "MARKET", D("1.5"))
    fills = spot.fills("a1")
    assert order.status == "FILLED"
    assert [(f.price, f.quantity, f.fee, f.fee_asset, f.is_maker) for f in fills] == [
        (D("50000.01"), D("1"), D("0.001"), "BTC", False),
        (D("50000.02"), D("0.5"), D("0.0005"), "BTC", False),
    ]
    assert order.cum_quote == D("75000.02")
    assert balances(spot) == {"BTC": (D("3.4985"), 0), "USDT": (D("24999.98"), 0)}


def test_market_order_larger_than_book_expires_remainder(spot: SimExchange) -> None:
    spot.set_liquidity("BTCUSDT", D("0.1"))
    spot.adjust_balance("a1", "BTC", D("10"))
    order = spot.place_order("a1", "BTCUSDT", "SELL", "MARKET", D("1.5"))
    assert order.status == "EXPIRED"
    assert order.filled_quantity == D("1.0")  # 10 levels x 0.1
    assert len(spot.fills("a1")) == 10


def test_sell_fee_is_charged_in_quote(spot: SimExchange) -> None:
    spot.place_order("a1", "BTCUSDT", "SELL", "MARKET", D("0.5"))
    (fill,) = spot.fills("a1")
    assert (fill.price, fill.fee, fill.fee_asset) == (D("49999.99"), D("24.999995"), "USDT")
    assert balances(spot) == {"BTC": (D("1.5"), 0), "USDT": (D("124974.995005"), 0)}


def test_resting_limit_locks_funds_and_cancel_releases_them(spot: SimExchange) -> None:
    order = spot.place_order("a1", "BTCUSDT", "BUY", "LIMIT", D("1"), price=D("49000"), client_order_id="c1")
    assert order.status == "NEW"
    assert balances(spot)["USDT"] == (D("51000"), D("49000"))
    assert [o.order_id for o in spot.open_orders("a1", "BTCUSDT")] == [order.order_id]
    canceled = spot.cancel_order("a1", "BTCUSDT", client_order_id="c1")
    assert canceled.status == "CANCELED"
    assert balances(spot)["USDT"] == (D("100000"), 0)
    assert spot.open_orders("a1") == []
    with pytest.raises(SimError) as exc:
        spot.cancel_order("a1", "BTCUSDT", order_id=order.order_id)
    assert exc.value.kind == "unknown_order"


def test_resting_limit_fills_partially_over_ticks_as_maker(spot: SimExchange) -> None:
    spot.set_liquidity("BTCUSDT", D("0.4"))
    order = spot.place_order("a1", "BTCUSDT", "SELL", "LIMIT", D("1"), price=D("50100"))
    assert balances(spot)["BTC"] == (D("1"), D("1"))
    spot.set_price("BTCUSDT", D("50100"))
    assert spot.get_order("a1", "BTCUSDT", order.order_id).status == "PARTIALLY_FILLED"
    spot.set_price("BTCUSDT", D("50150"))
    spot.set_price("BTCUSDT", D("50120"))
    done = spot.get_order("a1", "BTCUSDT", order.order_id)
    assert done.status == "FILLED"
    assert [(f.price, f.quantity, f.is_maker) for f in spot.fills("a1")] == [
        (D("50100"), D("0.4"), True), (D("50100"), D("0.4"), True), (D("50100"), D("0.2"), True)]
    assert balances(spot) == {"BTC": (D("1"), 0), "USDT": (D("100000") + D("50100") - D("50.1"), 0)}


def test_crossing_limit_fills_at_book_prices_and_rests_remainder(spot: SimExchange) -> None:
    spot.set_liquidity("BTCUSDT", D("0.5"))
    order = spot.place_order("a1", "BTCUSDT", "BUY", "LIMIT", D("1.2"), price=D("50000.02"))
    assert order.status == "PARTIALLY_FILLED"
    assert order.filled_quantity == D("1.0")
    # the remainder stays locked at its limit price; better-priced fills released the difference
    assert balances(spot)["USDT"][1] == D("0.2") * D("50000.02")
    assert balances(spot)["USDT"][0] == D("100000") - D("0.5") * D("50000.01") - D("0.5") * D("50000.02") - D(
        "0.2") * D("50000.02")


def test_ioc_expires_remainder_and_fok_rejects_when_book_too_thin(spot: SimExchange) -> None:
    spot.set_liquidity("BTCUSDT", D("0.5"))
    ioc = spot.place_order("a1", "BTCUSDT", "BUY", "LIMIT", D("1.2"), price=D("50000.02"), time_in_force="IOC")
    assert (ioc.status, ioc.filled_quantity) == ("EXPIRED", D("1.0"))
    assert balances(spot)["USDT"][1] == 0
    with pytest.raises(SimError) as exc:
        spot.place_order("a1", "BTCUSDT", "BUY", "LIMIT", D("1.2"), price=D("50000.02"), time_in_force="FOK")
    assert exc.value.kind == "fok_unfillable"
    fok = spot.place_order("a1", "BTCUSDT", "BUY", "LIMIT", D("0.9"), price=D("50000.02"), time_in_force="FOK")
    assert fok.status == "FILLED"


def test_post_only_rejected_when_crossing_and_rests_otherwise(spot: SimExchange) -> None:
    with pytest.raises(SimError) as exc:
        spot.place_order("a1", "BTCUSDT", "BUY", "LIMIT", D("0.1"), price=D("50000.01"), time_in_force="GTX")
    assert exc.value.kind == "post_only_would_take"
    resting = spot.place_order("a1", "BTCUSDT", "BUY", "LIMIT", D("0.1"), price=D("50000.00"), post_only=True)
    assert (resting.status, resting.post_only) == ("NEW", True)
    assert spot.fills("a1") == []


def test_stop_market_triggers_on_last_price(spot: SimExchange) -> None:
    stop = spot.place_order("a1", "BTCUSDT", "SELL", "STOP_MARKET", D("0.5"), trigger_price=D("49500"))
    assert balances(spot)["BTC"] == (D("1.5"), D("0.5"))
    spot.set_price("BTCUSDT", D("49600"))
    assert spot.get_order("a1", "BTCUSDT", stop.order_id).status == "NEW"
    spot.set_price("BTCUSDT", D("49500"))
    done = spot.get_order("a1", "BTCUSDT", stop.order_id)
    assert (done.status, done.triggered, done.avg_price) == ("FILLED", True, D("49499.99"))
    assert balances(spot)["BTC"] == (D("1.5"), 0)


def test_stop_limit_rests_after_trigger_then_fills(spot: SimExchange) -> None:
    stop = spot.place_order("a1", "BTCUSDT", "BUY", "STOP_LIMIT", D("0.5"), price=D("50400"),
                            trigger_price=D("50500"))
    assert balances(spot)["USDT"] == (D("100000") - D("25200"), D("25200"))
    spot.set_price("BTCUSDT", D("50500"))
    triggered = spot.get_order("a1", "BTCUSDT", stop.order_id)
    assert (triggered.status, triggered.triggered) == ("NEW", True)
    spot.set_price("BTCUSDT", D("50400"))
    assert spot.get_order("a1", "BTCUSDT", stop.order_id).status == "FILLED"
    with pytest.raises(SimError) as exc:
        spot.place_order("a1", "BTCUSDT", "BUY", "STOP_MARKET", D("0.5"), trigger_price=D("50000"))
    assert (exc.value.kind, exc.value.field) == ("bad_parameter", "trigger_price")


def test_amend_changes_price_quantity_and_lock(spot: SimExchange) -> None:
    order = spot.place_order("a1", "BTCUSDT", "BUY", "LIMIT", D("1"), price=D("49000"), client_order_id="x")
    amended = spot.amend_order("a1", "BTCUSDT", client_order_id="x", quantity=D("0.5"), price=D("48000"))
    assert (amended.quantity, amended.price, amended.status) == (D("0.5"), D("48000"), "NEW")
    assert balances(spot)["USDT"] == (D("76000"), D("24000"))
    with pytest.raises(SimError) as exc:
        spot.amend_order("a1", "BTCUSDT", order_id=order.order_id, quantity=D("3"))
    assert exc.value.kind == "insufficient_balance"
    assert balances(spot)["USDT"] == (D("76000"), D("24000"))
    crossed = spot.amend_order("a1", "BTCUSDT", order_id=order.order_id, price=D("50001"))
    assert crossed.status == "FILLED"
    assert balances(spot)["USDT"][1] == 0


def test_events_in_order_for_a_crossing_order(spot: SimExchange) -> None:
    events: list[object] = []
    spot.subscribe(events.append)
    spot.place_order("a1", "BTCUSDT", "BUY", "LIMIT", D("0.5"), price=D("50000.01"), client_order_id="e1")
    kinds = [(type(e).__name__, getattr(e, "kind", getattr(e, "reason", ""))) for e in events]
    assert kinds == [("OrderUpdate", "NEW"), ("AccountUpdate", "ORDER"), ("OrderUpdate", "TRADE"),
                     ("AccountUpdate", "TRADE"), ("PublicTrade", "")]
    trade = events[2]
    assert isinstance(trade, OrderUpdate) and trade.fill is not None
    assert trade.order.status == "FILLED" and trade.order.client_order_id == "e1"
    update = events[3]
    assert isinstance(update, AccountUpdate)
    assert {b.asset: b.total for b in update.balances} == {"BTC": D("2.4995"), "USDT": D("100000") - D("25000.005")}
    public = events[4]
    assert isinstance(public, PublicTrade) and public.trade_id == trade.fill.trade_id


@pytest.mark.parametrize(
    ("kwargs", "kind", "field"),
    [
        ({"symbol": "NOPE"}, "bad_symbol", "symbol"),
        ({"side": "HOLD"}, "bad_parameter", "side"),
        ({"order_type": "ICEBERG"}, "bad_parameter", "order_type"),
        ({"time_in_force": "DAY"}, "bad_parameter", "time_in_force"),
        ({"quantity": None}, "missing_parameter", "quantity"),
        ({"price": None}, "missing_parameter", "price"),
        ({"price": D("49000.001")}, "filter_failure", "price"),
        ({"quantity": D("0.0015")}, "filter_failure", "quantity"),
        ({"quantity": D("0")}, "bad_parameter", "quantity"),
        ({"quantity": D("0.001"), "price": D("100")}, "filter_failure", "notional"),
        ({"quantity": D("3")}, "insufficient_balance", None),
        ({"reduce_only": True}, "bad_parameter", "reduce_only"),
    ],
)
def test_validation_errors_name_their_cause(spot: SimExchange, kwargs: dict, kind: str, field: str | None) -> None:
    request = {"account_id": "a1", "symbol": "BTCUSDT", "side": "BUY", "order_type": "LIMIT", "quantity": D("1"),
               "price": D("49000")} | kwargs
    if kind == "insufficient_balance":
        request["price"] = D("49000")
    with pytest.raises(SimError) as exc:
        spot.place_order(**request)
    assert (exc.value.kind, exc.value.field) == (kind, field)
    assert spot.order_history("a1") == []
    assert spot.account("a1").balances["USDT"].free == D("100000")


def test_unknown_order_and_duplicate_client_id(spot: SimExchange) -> None:
    with pytest.raises(SimError) as exc:
        spot.get_order("a1", "BTCUSDT", order_id=1)
    assert exc.value.kind == "unknown_order"
    spot.place_order("a1", "BTCUSDT", "BUY", "LIMIT", D("0.1"), price=D("40000"), client_order_id="dup")
    with pytest.raises(SimError) as exc:
        spot.place_order("a1", "BTCUSDT", "BUY", "LIMIT", D("0.1"), price=D("40000"), client_order_id="dup")
    assert (exc.value.kind, exc.value.field) == ("bad_parameter", "client_order_id")


def test_injected_rejects_consume_count(spot: SimExchange, faults) -> None:
    faults.reject_next_orders(1)
    with pytest.raises(SimError) as exc:
        spot.place_order("a1", "BTCUSDT", "BUY", "LIMIT", D("0.1"), price=D("40000"))
    assert exc.value.kind == "injected_reject"
    assert spot.place_order("a1", "BTCUSDT", "BUY", "LIMIT", D("0.1"), price=D("40000")).status == "NEW"


def test_history_and_queries_return_snapshots(spot: SimExchange) -> None:
    order = spot.place_order("a1", "BTCUSDT", "BUY", "LIMIT", D("0.1"), price=D("40000"))
    spot.cancel_order("a1", "BTCUSDT", order_id=order.order_id)
    assert order.status == "NEW"  # the returned snapshot does not change afterwards
    assert [o.status for o in spot.order_history("a1", "BTCUSDT")] == ["CANCELED"]


def test_market_controls_refuse_bad_values(spot: SimExchange) -> None:
    with pytest.raises(SimError) as exc:
        spot.set_price("BTCUSDT", D("0"))
    assert (exc.value.kind, exc.value.field) == ("bad_parameter", "price")
    with pytest.raises(SimError) as exc:
        spot.set_liquidity("BTCUSDT", D("0.0001"))
    assert (exc.value.kind, exc.value.message) == ("bad_parameter", "quantity: must be at least one lot (0.001)")
    with pytest.raises(SimError) as exc:
        spot.set_price("ETHUSDT", D("1"))
    assert exc.value.kind == "bad_symbol"


def test_cancel_after_partial_fill_keeps_fills_and_releases_the_rest(spot: SimExchange) -> None:
    spot.set_liquidity("BTCUSDT", D("0.3"))
    order = spot.place_order("a1", "BTCUSDT", "SELL", "LIMIT", D("1"), price=D("50100"))
    spot.set_price("BTCUSDT", D("50100"))
    canceled = spot.cancel_order("a1", "BTCUSDT", order_id=order.order_id)
    assert (canceled.status, canceled.filled_quantity) == ("CANCELED", D("0.3"))
    assert balances(spot)["BTC"] == (D("1.7"), 0)


def test_error_kinds_are_the_documented_ones() -> None:
    from backend.simulator.core import SIM_ERROR_KINDS, Reason

    assert set(SIM_ERROR_KINDS) == {
        "bad_symbol", "bad_parameter", "missing_parameter", "filter_failure", "insufficient_balance",
        "unknown_order", "post_only_would_take", "reduce_only_rejected", "fok_unfillable", "injected_reject",
        "rate_limited",
    }
    assert {reason.kind for reason in Reason} == set(SIM_ERROR_KINDS)
    with pytest.raises(ValueError):
        SimError("oops", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SimError("rate_limited", "a string, not a Reason")  # type: ignore[arg-type]
    assert str(SimError(Reason.RATE_LIMITED, "slow down")) == "rate_limited: slow down"
