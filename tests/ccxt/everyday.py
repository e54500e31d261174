"""What a trader's ccxt script does every day, against the simulator, unmodified: one class of checks shared by the
three venues' modules (each subclasses ``EverydayCalls`` with its ``Profile`` and a module-scoped simulator).

The market stands still (``tick_interval_ms=0``) so prices and fills are exact; where a test needs a move it sets the
price through the control API. Figures from ccxt are floats: compared with a tolerance far below one lot or tick.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ccxt
import pytest

from backend.simulator.harness import SimulatorThread

SPOT, PERP = "BTC/USDT", "BTC/USDT:USDT"
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Profile:
    """How one venue's everyday calls differ (only where ccxt or the venue makes them differ)."""

    venue: str
    client: Callable[..., ccxt.Exchange]
    spot_symbol: str  # the simulator's id of SPOT / PERP
    perp_symbol: str
    spot_market: str  # the simulator's market labels
    perp_market: str
    spot_amount: float  # base units
    perp_amount: float  # ccxt amount: contracts (OKX: ``perp_base_per_amount`` BTC each) or base units
    perp_base_per_amount: float = 1.0
    fetch_order_params: dict[str, Any] = field(default_factory=dict)
    spot_stop_params: Callable[[float], dict[str, Any]] = lambda price: {"stopPrice": price}
    perp_stop_params: Callable[[float], dict[str, Any]] = lambda price: {"stopPrice": price}
    spot_stop_query: dict[str, Any] = field(default_factory=dict)  # how ccxt lists / cancels untriggered stops
    perp_stop_query: dict[str, Any] = field(default_factory=dict)
    invalid_order: Callable[[ccxt.Exchange], object] = lambda ex: None  # a usual mistake the venue calls invalid
    rate_limit_errors: tuple[type[Exception], ...] = (ccxt.RateLimitExceeded,)
    perp_ticker_has_book: bool = True  # Binance's futures 24hr ticker carries no bid / ask
    position_shows_leverage: bool = True  # Binance's v3 positionRisk has no leverage field
    has_cancel_all: bool = True
    edit_keeps_id: bool = True  # Binance spot's cancelReplace gives the edited order a new id
    control_url: Callable[[dict[str, dict[str, str]], str], str] = lambda urls, market: urls["main"]


def control(sim: SimulatorThread, profile: Profile, market: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST to the simulator's control API (``/_sim/...``) of the app serving ``market``."""
    url = profile.control_url(sim.urls[profile.venue], market).rstrip("/") + "/_sim/" + path
    request = urllib.request.Request(url, data=json.dumps({"market": market, **body}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def totals(exchange: ccxt.Exchange, params: dict[str, Any] | None = None) -> dict[str, float]:
    return {k: v for k, v in exchange.fetch_balance(params or {})["total"].items() if v is not None}


def ended_orders(exchange: ccxt.Exchange, symbol: str) -> list[dict[str, Any]]:
    """Closed and cancelled orders: ccxt's ``fetchCanceledAndClosedOrders`` where it has one, else closed plus
    cancelled orders."""
    if exchange.has.get("fetchCanceledAndClosedOrders"):
        return exchange.fetch_canceled_and_closed_orders(symbol)
    return exchange.fetch_closed_orders(symbol) + exchange.fetch_canceled_orders(symbol)


def near(a: float | None, b: float) -> bool:
    return a is not None and abs(a - b) <= TOLERANCE * max(1.0, abs(b))


class EverydayCalls:
    """The shared checks; a venue module provides the ``sim`` (module scope), ``profile`` and ``ex`` fixtures."""

    # -- markets and market data ---------------------------------------------------------------------------------

    def test_load_markets_lists_spot_and_perpetual_with_the_simulators_filters(
            self, sim: SimulatorThread, profile: Profile, ex: ccxt.Exchange) -> None:
        markets = ex.load_markets(reload=True)
        spot, perp = markets[SPOT], markets[PERP]
        assert spot["spot"] and spot["id"] == profile.spot_symbol
        assert perp["swap"] and perp["linear"] and perp["settle"] == "USDT" and perp["id"] == profile.perp_symbol
        for market, label, symbol in ((spot, profile.spot_market, profile.spot_symbol),
                                      (perp, profile.perp_market, profile.perp_symbol)):
            instrument = sim.exchange(profile.venue, label).instruments[symbol]
            assert near(market["precision"]["price"], float(instrument.tick_size))
            assert market["active"] is not False

    def test_ticker_book_and_trades_show_the_simulators_market(
            self, sim: SimulatorThread, profile: Profile, ex: ccxt.Exchange) -> None:
        for symbol, label, sim_symbol in ((SPOT, profile.spot_market, profile.spot_symbol),
                                          (PERP, profile.perp_market, profile.perp_symbol)):
            sim.call(sim.exchange(profile.venue, label).step, 3)
            book = sim.call(sim.exchange(profile.venue, label).book, sim_symbol)
            ticker = ex.fetch_ticker(symbol)
            assert ticker["symbol"] == symbol
            assert near(ticker["last"], float(book.last_price))
            if symbol == SPOT or profile.perp_ticker_has_book:
                assert near(ticker["bid"], float(book.bids[0][0])) and near(ticker["ask"], float(book.asks[0][0]))
            order_book = ex.fetch_order_book(symbol)
            assert near(order_book["bids"][0][0], float(book.bids[0][0]))
            assert near(order_book["asks"][0][0], float(book.asks[0][0]))
            assert order_book["bids"][0][0] < order_book["asks"][0][0]
            trades = ex.fetch_trades(symbol)
            assert trades and all(t["symbol"] == symbol and t["amount"] > 0 for t in trades)
            assert near(trades[-1]["price"], float(book.last_price))
        tickers = ex.fetch_tickers([SPOT, "ETH/USDT"])
        assert set(tickers) == {SPOT, "ETH/USDT"}

    # -- spot orders -----------------------------------------------------------------------------------------------

    def test_limit_order_is_open_then_edited_then_cancelled_and_closed(
            self, profile: Profile, ex: ccxt.Exchange) -> None:
        last = ex.fetch_ticker(SPOT)["last"]
        price = float(ex.price_to_precision(SPOT, last * 0.9))
        before = ex.fetch_balance()
        order = ex.create_order(SPOT, "limit", "buy", profile.spot_amount, price)
        fetched = ex.fetch_order(order["id"], SPOT, profile.fetch_order_params)
        assert fetched["id"] == order["id"] and fetched["status"] == "open"
        assert near(fetched["price"], price) and near(fetched["amount"], profile.spot_amount)
        assert order["id"] in [o["id"] for o in ex.fetch_open_orders(SPOT)]
        held = ex.fetch_balance()
        assert near(held["USDT"]["free"], before["USDT"]["free"] - profile.spot_amount * price)
        new_price = float(ex.price_to_precision(SPOT, last * 0.8))
        edited = ex.edit_order(order["id"], SPOT, "limit", "buy", profile.spot_amount * 2, new_price)
        assert (edited["id"] == order["id"]) is profile.edit_keeps_id
        fetched = ex.fetch_order(edited["id"], SPOT, profile.fetch_order_params)
        assert near(fetched["price"], new_price) and near(fetched["amount"], profile.spot_amount * 2)
        assert [o["id"] for o in ex.fetch_open_orders(SPOT)] == [edited["id"]]
        ex.cancel_order(edited["id"], SPOT)
        assert ex.fetch_order(edited["id"], SPOT, profile.fetch_order_params)["status"] == "canceled"
        assert ex.fetch_open_orders(SPOT) == []
        finished = {o["id"]: o["status"] for o in ended_orders(ex, SPOT)}
        assert finished[edited["id"]] == "canceled"
        assert near(ex.fetch_balance()["USDT"]["free"], before["USDT"]["free"])

    def test_market_buy_fills_and_moves_balances_by_amount_cost_and_fee(
            self, profile: Profile, ex: ccxt.Exchange) -> None:
        before = totals(ex)
        order = ex.create_order(SPOT, "market", "buy", profile.spot_amount)
        fetched = ex.fetch_order(order["id"], SPOT, profile.fetch_order_params)
        assert fetched["status"] == "closed" and near(fetched["filled"], profile.spot_amount)
        trades = [t for t in ex.fetch_my_trades(SPOT) if t["order"] == order["id"]]
        assert trades and near(sum(t["amount"] for t in trades), profile.spot_amount)
        expected = dict(before)
        for trade in trades:
            expected["BTC"] = expected.get("BTC", 0.0) + trade["amount"]
            expected["USDT"] -= trade["cost"]
            fee = trade["fee"]
            expected[fee["currency"]] -= fee["cost"]
        after = totals(ex)
        assert near(after["BTC"], expected["BTC"]) and near(after["USDT"], expected["USDT"])
        assert order["id"] in [o["id"] for o in ex.fetch_closed_orders(SPOT)]

    def test_post_only_order_rests_as_maker(self, profile: Profile, ex: ccxt.Exchange) -> None:
        price = float(ex.price_to_precision(SPOT, ex.fetch_ticker(SPOT)["last"] * 0.9))
        order = ex.create_order(SPOT, "limit", "buy", profile.spot_amount, price, {"postOnly": True})
        fetched = ex.fetch_order(order["id"], SPOT, profile.fetch_order_params)
        assert fetched["status"] == "open" and fetched["postOnly"] is True
        ex.cancel_order(order["id"], SPOT)

    def test_stop_order_waits_then_is_cancelled(self, profile: Profile, ex: ccxt.Exchange) -> None:
        last = ex.fetch_ticker(SPOT)["last"]
        trigger = float(ex.price_to_precision(SPOT, last * 0.95))
        limit = float(ex.price_to_precision(SPOT, last * 0.94))
        order = ex.create_order(SPOT, "limit", "sell", profile.spot_amount, limit, profile.spot_stop_params(trigger))
        waiting = [o for o in ex.fetch_open_orders(SPOT, params=profile.spot_stop_query) if o["id"] == order["id"]]
        assert len(waiting) == 1 and near(waiting[0]["triggerPrice"], trigger)
        ex.cancel_order(order["id"], SPOT, profile.spot_stop_query)
        assert order["id"] not in [o["id"] for o in ex.fetch_open_orders(SPOT, params=profile.spot_stop_query)]

    def test_cancel_all_orders_cancels_every_open_order(self, profile: Profile, ex: ccxt.Exchange) -> None:
        last = ex.fetch_ticker(SPOT)["last"]
        ids = [ex.create_order(SPOT, "limit", "buy", profile.spot_amount,
                               float(ex.price_to_precision(SPOT, last * factor)))["id"] for factor in (0.7, 0.75)]
        assert sorted(o["id"] for o in ex.fetch_open_orders(SPOT)) == sorted(ids)
        if profile.has_cancel_all:
            ex.cancel_all_orders(SPOT)
        else:  # ccxt has no cancelAllOrders for this venue: the batch cancel is what a script uses
            with pytest.raises(ccxt.NotSupported):
                ex.cancel_all_orders(SPOT)
            ex.cancel_orders(ids, SPOT)
        assert ex.fetch_open_orders(SPOT) == []
        assert all(ex.fetch_order(i, SPOT, profile.fetch_order_params)["status"] == "canceled" for i in ids)

    # -- perpetuals ------------------------------------------------------------------------------------------------

    def test_leverage_reads_back_what_was_set(self, ex: ccxt.Exchange) -> None:
        ex.set_leverage(7, PERP)
        assert ex.fetch_leverage(PERP)["longLeverage"] == 7
        ex.set_leverage(5, PERP)
        assert ex.fetch_leverage(PERP)["longLeverage"] == 5

    def test_position_opens_and_reduce_only_closes_it_balance_moves_by_pnl_and_fees(
            self, sim: SimulatorThread, profile: Profile, ex: ccxt.Exchange) -> None:
        ex.set_leverage(5, PERP)
        before = totals(ex, {"type": "swap"})["USDT"]
        opened = ex.create_order(PERP, "market", "buy", profile.perp_amount)
        positions = [p for p in ex.fetch_positions([PERP]) if p["contracts"]]
        assert len(positions) == 1
        position = positions[0]
        assert position["symbol"] == PERP and position["side"] == "long"
        assert near(position["contracts"], profile.perp_amount)
        assert position["leverage"] == (5 if profile.position_shows_leverage else None)
        price = ex.fetch_ticker(PERP)["last"]
        control(sim, profile, profile.perp_market, "price",
                {"symbol": profile.perp_symbol, "price": ex.price_to_precision(PERP, price * 1.01)})
        closed = ex.create_order(PERP, "market", "sell", profile.perp_amount, None, {"reduceOnly": True})
        assert [p for p in ex.fetch_positions([PERP]) if p["contracts"]] == []
        trades = [t for t in ex.fetch_my_trades(PERP) if t["order"] in (opened["id"], closed["id"])]
        assert {t["order"] for t in trades} == {opened["id"], closed["id"]}
        base = profile.perp_base_per_amount
        pnl = sum((t["price"] if t["side"] == "sell" else -t["price"]) * t["amount"] * base for t in trades)
        fees = sum(t["fee"]["cost"] for t in trades)
        assert near(totals(ex, {"type": "swap"})["USDT"], before + pnl - fees)
        closed_ids = [o["id"] for o in ex.fetch_closed_orders(PERP)]
        assert opened["id"] in closed_ids and closed["id"] in closed_ids

    def test_perpetual_limit_and_stop_orders_open_and_cancel(self, profile: Profile, ex: ccxt.Exchange) -> None:
        last = ex.fetch_ticker(PERP)["last"]
        limit = ex.create_order(PERP, "limit", "buy", profile.perp_amount,
                                float(ex.price_to_precision(PERP, last * 0.9)))
        assert limit["id"] in [o["id"] for o in ex.fetch_open_orders(PERP)]
        new_price = float(ex.price_to_precision(PERP, last * 0.85))
        edited = ex.edit_order(limit["id"], PERP, "limit", "buy", profile.perp_amount * 2, new_price)
        assert edited["id"] == limit["id"]
        fetched = ex.fetch_order(limit["id"], PERP, profile.fetch_order_params)
        assert near(fetched["price"], new_price) and near(fetched["amount"], profile.perp_amount * 2)
        trigger = float(ex.price_to_precision(PERP, last * 1.05))
        stop = ex.create_order(PERP, "market", "buy", profile.perp_amount, None, profile.perp_stop_params(trigger))
        waiting = [o for o in ex.fetch_open_orders(PERP, params=profile.perp_stop_query) if o["id"] == stop["id"]]
        assert len(waiting) == 1 and near(waiting[0]["triggerPrice"], trigger)
        ex.cancel_order(stop["id"], PERP, profile.perp_stop_query)
        ex.cancel_order(limit["id"], PERP)
        assert ex.fetch_open_orders(PERP) == []
        assert ex.fetch_open_orders(PERP, params=profile.perp_stop_query) == []

    def test_stop_triggers_when_the_price_crosses_and_opens_the_position(
            self, sim: SimulatorThread, profile: Profile, ex: ccxt.Exchange) -> None:
        last = ex.fetch_ticker(PERP)["last"]
        trades_before = len(ex.fetch_my_trades(PERP))
        trigger = float(ex.price_to_precision(PERP, last * 1.02))
        stop = ex.create_order(PERP, "market", "buy", profile.perp_amount, None, profile.perp_stop_params(trigger))
        assert [p for p in ex.fetch_positions([PERP]) if p["contracts"]] == []
        control(sim, profile, profile.perp_market, "price",
                {"symbol": profile.perp_symbol, "price": ex.price_to_precision(PERP, last * 1.03)})
        assert stop["id"] in [o["id"] for o in ex.fetch_closed_orders(PERP, params=profile.perp_stop_query)]
        [position] = [p for p in ex.fetch_positions([PERP]) if p["contracts"]]
        assert position["side"] == "long" and near(position["contracts"], profile.perp_amount)
        trades = ex.fetch_my_trades(PERP)
        assert len(trades) == trades_before + 1 and near(trades[-1]["amount"], profile.perp_amount)
        assert trades[-1]["price"] >= trigger
        ex.create_order(PERP, "market", "sell", profile.perp_amount, None, {"reduceOnly": True})
        assert [p for p in ex.fetch_positions([PERP]) if p["contracts"]] == []
        control(sim, profile, profile.perp_market, "price", {"symbol": profile.perp_symbol,
                                                              "price": ex.price_to_precision(PERP, last)})

    def test_funding_rate_is_the_simulators(self, sim: SimulatorThread, profile: Profile, ex: ccxt.Exchange) -> None:
        schedule = sim.exchange(profile.venue, profile.perp_market).funding
        assert schedule is not None
        rate = ex.fetch_funding_rate(PERP)
        assert rate["symbol"] == PERP and near(rate["fundingRate"], float(schedule.rate(profile.perp_symbol)))
        assert rate["fundingTimestamp"] == schedule.next_ms or rate["nextFundingTimestamp"] == schedule.next_ms
        control(sim, profile, profile.perp_market, "funding/rate", {"symbol": profile.perp_symbol, "rate": "-0.0003"})
        assert near(ex.fetch_funding_rate(PERP)["fundingRate"], -0.0003)
        control(sim, profile, profile.perp_market, "funding/rate", {"symbol": profile.perp_symbol, "rate": "0.0001"})

    # -- mistakes --------------------------------------------------------------------------------------------------

    def test_mistakes_raise_ccxts_named_errors(self, sim: SimulatorThread, profile: Profile,
                                              ex: ccxt.Exchange) -> None:
        last = ex.fetch_ticker(SPOT)["last"]
        with pytest.raises(ccxt.InsufficientFunds):
            ex.create_order(SPOT, "limit", "buy", 1000, float(ex.price_to_precision(SPOT, last * 0.9)))
        with pytest.raises(ccxt.OrderNotFound):
            ex.cancel_order("123456789", SPOT)
        with pytest.raises(ccxt.OrderNotFound):
            ex.fetch_order("123456789", SPOT, profile.fetch_order_params)
        with pytest.raises(ccxt.InvalidOrder):
            profile.invalid_order(ex)
        wrong = profile.client(sim.urls[profile.venue], secret="X" * 40)
        wrong.markets, wrong.markets_by_id = ex.markets, ex.markets_by_id
        with pytest.raises(ccxt.AuthenticationError):
            wrong.fetch_balance()
        control(sim, profile, profile.spot_market, "clock/advance", {"ms": 120_000})
        try:
            with pytest.raises(ccxt.InvalidNonce):
                ex.fetch_balance()
        finally:
            control(sim, profile, profile.spot_market, "clock/advance", {"ms": -120_000})
        control(sim, profile, profile.spot_market, "faults/rest", {"fail_status": 429, "count": 1})
        with pytest.raises(profile.rate_limit_errors):
            ex.fetch_balance()
        assert ex.fetch_balance()["USDT"]["total"] > 0
