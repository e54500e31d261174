"""The Binance endpoints everyday clients use beyond NautilusTrader: 24 h tickers from the simulator's tape,
``order/cancelReplace`` with both of Binance's failure answers, ``leverageBracket`` and the empty margin pair lists."""

from __future__ import annotations

from decimal import Decimal

from backend.simulator.config import DEMO_ACCOUNT_ID
from tests.simulator.binance.conftest import books, control

D = Decimal
RESTING_BUY = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01",
               "price": "40000", "newClientOrderId": "rest-1"}


async def test_24hr_ticker_covers_the_tape_and_the_book(sim, session, spot, futures) -> None:
    await control(session, sim, "spot", "price", {"symbol": "BTCUSDT", "price": "51000"})
    await control(session, sim, "spot", "price", {"symbol": "BTCUSDT", "price": "49500"})
    status, ticker = await spot.request("GET", "/api/v3/ticker/24hr", {"symbol": "BTCUSDT"}, signed=False)
    assert status == 200
    book = sim.exchange("binance", "spot").book("BTCUSDT")
    assert (D(ticker["openPrice"]), D(ticker["highPrice"]), D(ticker["lowPrice"]), D(ticker["lastPrice"])) == (
        D("51000"), D("51000"), D("49500"), D("49500"))
    assert (D(ticker["priceChange"]), ticker["count"]) == (D("-1500"), 2)
    assert (D(ticker["bidPrice"]), D(ticker["askPrice"])) == (book.bids[0][0], book.asks[0][0])
    _, both = await spot.request("GET", "/api/v3/ticker/24hr", {"symbols": '["BTCUSDT","ETHUSDT"]'}, signed=False)
    assert [t["symbol"] for t in both] == ["BTCUSDT", "ETHUSDT"]
    _, perp = await futures.request("GET", "/fapi/v1/ticker/24hr", {"symbol": "BTCUSDT"}, signed=False)
    assert "bidPrice" not in perp and perp["count"] == 0  # USD-M's 24 h ticker has no book; no trades yet
    status, bad = await spot.request("GET", "/api/v3/ticker/24hr", {"symbol": "NOPE"}, signed=False)
    assert (status, bad["code"]) == (400, -1121)


async def test_cancel_replace_swaps_the_order(sim, spot) -> None:
    _, placed = await spot.request("POST", "/api/v3/order", RESTING_BUY)
    status, body = await spot.request("POST", "/api/v3/order/cancelReplace", {
        **RESTING_BUY, "price": "41000", "newClientOrderId": "rest-2", "cancelReplaceMode": "STOP_ON_FAILURE",
        "cancelOrderId": placed["orderId"]})
    assert status == 200, body
    assert (body["cancelResult"], body["newOrderResult"]) == ("SUCCESS", "SUCCESS")
    assert (body["cancelResponse"]["orderId"], body["cancelResponse"]["status"]) == (placed["orderId"], "CANCELED")
    assert (body["newOrderResponse"]["clientOrderId"], body["newOrderResponse"]["price"]) == ("rest-2", "41000.00000000")
    open_orders = sim.exchange("binance", "spot").open_orders(DEMO_ACCOUNT_ID)
    assert [(o.client_order_id, o.price) for o in open_orders] == [("rest-2", D("41000"))]


async def test_cancel_replace_failures_answer_2022_and_2021_with_the_halves(sim, spot) -> None:
    before = books(sim)
    status, body = await spot.request("POST", "/api/v3/order/cancelReplace", {
        **RESTING_BUY, "cancelReplaceMode": "STOP_ON_FAILURE", "cancelOrderId": "12345"})
    assert (status, body["code"], body["msg"]) == (400, -2022, "Order cancel-replace failed.")
    assert body["data"] == {"cancelResult": "FAILURE", "newOrderResult": "NOT_ATTEMPTED",
                            "cancelResponse": {"code": -2011, "msg": "Unknown order sent."}, "newOrderResponse": None}
    assert books(sim) == before  # nothing placed

    _, placed = await spot.request("POST", "/api/v3/order", RESTING_BUY)
    status, body = await spot.request("POST", "/api/v3/order/cancelReplace", {
        **RESTING_BUY, "quantity": "1000", "newClientOrderId": "too-big", "cancelReplaceMode": "STOP_ON_FAILURE",
        "cancelOrderId": placed["orderId"]})
    assert (status, body["code"], body["msg"]) == (409, -2021, "Order cancel-replace partially failed.")
    assert (body["data"]["cancelResult"], body["data"]["newOrderResult"]) == ("SUCCESS", "FAILURE")
    assert body["data"]["newOrderResponse"]["code"] == -2010  # insufficient balance
    assert sim.exchange("binance", "spot").open_orders(DEMO_ACCOUNT_ID) == []  # the cancel half stands


async def test_leverage_brackets_and_margin_pairs(futures, spot) -> None:
    status, brackets = await futures.request("GET", "/fapi/v1/leverageBracket")
    assert status == 200
    assert [(b["symbol"], b["brackets"][0]["initialLeverage"], b["brackets"][0]["maintMarginRatio"])
            for b in brackets] == [("BTCUSDT", 125, 0.005), ("ETHUSDT", 125, 0.005)]
    _, one = await futures.request("GET", "/fapi/v1/leverageBracket", {"symbol": "ETHUSDT"})
    assert one["symbol"] == "ETHUSDT"
    assert await spot.request("GET", "/sapi/v1/margin/allPairs") == (200, [])
    status, unsigned = await spot.request("GET", "/sapi/v1/margin/allPairs", signed=False)
    assert status in (400, 401) and unsigned["code"] in (-2014, -2015, -1102)
