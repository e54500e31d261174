"""Bybit v5 protocol of the simulator, spoken by a plain aiohttp client: signing, error codes, the trade stream and
the private pushes it causes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from backend.simulator.config import DEMO_ACCOUNT_ID, SimConfig
from backend.simulator.harness import run_simulator
from tests.simulator.bybit.client import (
    BybitClient,
    now_ms,
    receive,
    receive_ack,
    receive_response,
    receive_topic,
)

D = Decimal


@pytest.fixture
async def sim() -> AsyncIterator[Any]:
    async with run_simulator(SimConfig.default(venues=("bybit",), tick_interval_ms=0)) as running:
        yield running


@pytest.fixture
async def client(sim: Any) -> AsyncIterator[BybitClient]:
    async with aiohttp.ClientSession() as session:
        yield BybitClient(session, sim.urls["bybit"]["main"])


async def wallet(client: BybitClient) -> dict[str, dict[str, str]]:
    status, body = await client.get("/v5/account/wallet-balance", {"accountType": "UNIFIED"})
    assert (status, body["retCode"]) == (200, 0), body
    return {coin["coin"]: coin for coin in body["result"]["list"][0]["coin"]}


async def open_orders(client: BybitClient, category: str) -> list[dict[str, Any]]:
    _, body = await client.get("/v5/order/realtime", {"category": category, "settleCoin": "USDT"})
    assert body["retCode"] == 0, body
    return body["result"]["list"]


async def venue_state(client: BybitClient) -> tuple[Any, ...]:
    _, positions = await client.get("/v5/position/list", {"category": "linear", "settleCoin": "USDT"})
    _, fills = await client.get("/v5/execution/list", {"category": "linear"})
    return await wallet(client), await open_orders(client, "spot"), await open_orders(client, "linear"), \
        positions["result"]["list"], fills["result"]["list"]


# -- authentication ------------------------------------------------------------------------------------------------


async def test_wrong_signature_is_10004_with_http_200(client: BybitClient) -> None:
    client.secret = "not-the-secret"
    status, body = await client.get("/v5/account/wallet-balance", {"accountType": "UNIFIED"})
    assert status == 200
    assert body["retCode"] == 10004
    assert body["retMsg"].startswith("error sign! origin_string[")
    assert "not-the-secret" not in body["retMsg"]
    assert body["result"] == {}


async def test_stale_timestamp_is_10002(client: BybitClient) -> None:
    status, body = await client.get("/v5/account/wallet-balance", {"accountType": "UNIFIED"},
                                    timestamp=now_ms() - 60_000)
    assert (status, body["retCode"]) == (200, 10002)
    assert body["retMsg"].startswith("invalid request, please check your server timestamp or recv_window param.")


async def test_unknown_api_key_is_10003(client: BybitClient) -> None:
    client.api_key = "nobody"
    status, body = await client.get("/v5/account/wallet-balance", {"accountType": "UNIFIED"})
    assert (status, body["retCode"], body["retMsg"]) == (200, 10003, "API key is invalid.")


async def test_public_endpoints_need_no_signature(client: BybitClient) -> None:
    status, body = await client.get("/v5/market/instruments-info", {"category": "linear"}, signed=False)
    assert (status, body["retCode"]) == (200, 0)
    btc = body["result"]["list"][0]
    assert (btc["symbol"], btc["contractType"], btc["lotSizeFilter"]["qtyStep"]) == (
        "BTCUSDT", "LinearPerpetual", "0.001")


async def test_private_ws_auth_with_wrong_signature_fails_and_topics_stay_closed(client: BybitClient) -> None:
    async with client.session.ws_connect(client.ws_url("/v5/private")) as ws:
        client.secret = "not-the-secret"
        await ws.send_json({"op": "auth", "args": client.auth_args()})
        answer = await receive(ws)
        assert (answer["op"], answer["success"], answer["ret_msg"]) == ("auth", False, "Invalid sign")
        await ws.send_json({"op": "subscribe", "args": ["order"], "req_id": "r1"})
        refused = await receive(ws)
        assert (refused["success"], refused["ret_msg"], refused["req_id"]) == (False, "Request not authorized", "r1")


async def test_private_ws_auth_with_expired_expires_fails(client: BybitClient) -> None:
    async with client.session.ws_connect(client.ws_url("/v5/private")) as ws:
        await ws.send_json({"op": "auth", "args": client.auth_args(expires=now_ms() - 1)})
        answer = await receive(ws)
        assert (answer["success"], answer["ret_msg"]) == (False, "Request expired")


async def test_trade_ws_auth_failure_uses_ret_code(client: BybitClient) -> None:
    async with client.session.ws_connect(client.ws_url("/v5/trade")) as ws:
        client.secret = "not-the-secret"
        await ws.send_json({"op": "auth", "args": client.auth_args()})
        answer = await receive(ws)
        assert (answer["op"], answer["retCode"], answer["retMsg"]) == ("auth", 10004, "Invalid sign")


# -- business errors -----------------------------------------------------------------------------------------------


async def test_bad_parameter_is_10001_and_changes_nothing(client: BybitClient) -> None:
    before = await venue_state(client)
    _, body = await client.post("/v5/order/create", {"category": "linear", "symbol": "BTCUSDT", "side": "Buy",
                                                     "orderType": "Limit", "qty": "abc", "price": "49000"})
    assert body["retCode"] == 10001
    assert body["retMsg"] == "params error: qty must be a decimal string, got 'abc'"
    _, body = await client.post("/v5/order/create", {"category": "linear", "symbol": "BTCUSDT", "side": "Buy",
                                                     "orderType": "Limit", "qty": "0.0015", "price": "49000"})
    assert body["retCode"] == 10001
    assert body["retMsg"] == "params error: Qty invalid"
    assert await venue_state(client) == before


async def test_insufficient_balance_is_110007_on_linear_and_170131_on_spot(client: BybitClient) -> None:
    before = await venue_state(client)
    _, linear = await client.post("/v5/order/create", {"category": "linear", "symbol": "BTCUSDT", "side": "Buy",
                                                       "orderType": "Limit", "qty": "30", "price": "49000"})
    assert (linear["retCode"], linear["retMsg"]) == (110007, "ab not enough for new order")
    _, spot = await client.post("/v5/order/create", {"category": "spot", "symbol": "BTCUSDT", "side": "Sell",
                                                     "orderType": "Limit", "qty": "3", "price": "51000"})
    assert (spot["retCode"], spot["retMsg"]) == (170131, "Insufficient balance.")
    assert await venue_state(client) == before


async def test_unknown_order_is_110001(client: BybitClient) -> None:
    _, cancel = await client.post("/v5/order/cancel", {"category": "linear", "symbol": "BTCUSDT",
                                                       "orderLinkId": "never-placed"})
    assert (cancel["retCode"], cancel["retMsg"]) == (110001, "order not exists or too late to cancel")
    _, amend = await client.post("/v5/order/amend", {"category": "spot", "symbol": "BTCUSDT", "orderId": "123",
                                                     "price": "40000"})
    assert (amend["retCode"], amend["retMsg"]) == (110001, "order not exists or too late to replace")


async def test_rejected_signed_order_changes_nothing(client: BybitClient) -> None:
    before = await venue_state(client)
    client.secret = "not-the-secret"
    _, body = await client.post("/v5/order/create", {"category": "spot", "symbol": "BTCUSDT", "side": "Buy",
                                                     "orderType": "Market", "qty": "0.01"})
    assert body["retCode"] == 10004
    client.secret = BybitClient(client.session, client.base_url).secret
    assert await venue_state(client) == before


# -- trade stream -> private stream --------------------------------------------------------------------------------


async def order_op(ws: aiohttp.ClientWebSocketResponse, req_id: str, op: str, args: dict[str, Any]) -> dict[str, Any]:
    await ws.send_json({"reqId": req_id, "op": op, "header": {"X-BAPI-TIMESTAMP": str(now_ms())}, "args": [args]})
    return await receive_response(ws, req_id)


async def test_trade_ws_orders_push_order_execution_wallet_position(client: BybitClient, sim: Any) -> None:
    async with client.session.ws_connect(client.ws_url("/v5/private")) as private, \
            client.session.ws_connect(client.ws_url("/v5/trade")) as trade:
        await private.send_json({"op": "auth", "args": client.auth_args()})
        assert (await receive(private))["success"] is True
        await private.send_json({"op": "subscribe", "args": ["order", "execution", "position", "wallet"],
                                 "req_id": "subs"})
        assert (await receive(private))["success"] is True
        await trade.send_json({"op": "auth", "args": client.auth_args()})
        assert (await receive(trade))["retCode"] == 0

        # A resting linear limit: accepted, margin locked, then amended and cancelled.
        created = await order_op(trade, "c1", "order.create", {"category": "linear", "symbol": "BTCUSDT",
                                                                "side": "Buy", "orderType": "Limit", "qty": "0.010",
                                                                "price": "49000.0", "timeInForce": "GTC",
                                                                "orderLinkId": "lim-1"})
        assert (created["retCode"], created["op"], created["data"]["orderLinkId"]) == (0, "order.create", "lim-1")
        new = (await receive_topic(private, "order"))["data"][0]
        assert (new["orderStatus"], new["price"], new["qty"], new["orderId"]) == (
            "New", "49000", "0.01", created["data"]["orderId"])
        locked = {c["coin"]: c for c in (await receive_topic(private, "wallet"))["data"][0]["coin"]}["USDT"]
        assert (locked["walletBalance"], locked["locked"], locked["totalOrderIM"]) == ("100000", "0", "49")

        amended = await order_op(trade, "a1", "order.amend", {"category": "linear", "symbol": "BTCUSDT",
                                                               "orderLinkId": "lim-1", "price": "48000.0"})
        assert amended["retCode"] == 0
        assert (await receive_topic(private, "order"))["data"][0]["price"] == "48000"

        cancelled = await order_op(trade, "x1", "order.cancel", {"category": "linear", "symbol": "BTCUSDT",
                                                                  "orderLinkId": "lim-1"})
        assert cancelled["retCode"] == 0
        gone = (await receive_topic(private, "order"))["data"][0]
        assert (gone["orderStatus"], gone["cancelType"], gone["leavesQty"]) == ("Cancelled", "CancelByUser", "0")
        again = await order_op(trade, "x2", "order.cancel", {"category": "linear", "symbol": "BTCUSDT",
                                                              "orderLinkId": "lim-1"})
        assert (again["retCode"], again["data"]) == (110001, {})

        # A linear market buy fills at the best ask (50000.1): execution, order, wallet, position.
        await order_op(trade, "m1", "order.create", {"category": "linear", "symbol": "BTCUSDT", "side": "Buy",
                                                      "orderType": "Market", "qty": "0.002", "orderLinkId": "mkt-1"})
        execution = (await receive_topic(private, "execution"))["data"][0]
        assert (execution["execPrice"], execution["execQty"], execution["execFee"], execution["isMaker"]) == (
            "50000.1", "0.002", "0.05500011", False)
        filled = (await receive_topic(private, "order"))["data"][0]
        assert (filled["orderStatus"], filled["cumExecQty"], filled["avgPrice"]) == ("Filled", "0.002", "50000.1")
        usdt = {c["coin"]: c for c in (await receive_topic(private, "wallet"))["data"][0]["coin"]}["USDT"]
        assert usdt["walletBalance"] == "99999.94499989"
        position = (await receive_topic(private, "position"))["data"][0]
        assert (position["side"], position["size"], position["avgPrice"]) == ("Buy", "0.002", "50000.1")

        # A spot market buy: fee in BTC, BTC and USDT change in the one unified wallet.
        await order_op(trade, "s1", "order.create", {"category": "spot", "symbol": "BTCUSDT", "side": "Buy",
                                                      "orderType": "Market", "qty": "0.01", "marketUnit": "baseCoin",
                                                      "orderLinkId": "spot-1"})
        spot_fill = (await receive_topic(private, "execution"))["data"][0]
        assert (spot_fill["category"], spot_fill["execPrice"], spot_fill["feeCurrency"], spot_fill["execFee"]) == (
            "spot", "50000.01", "BTC", "0.00001")
        coins = {c["coin"]: c for c in (await receive_topic(private, "wallet"))["data"][0]["coin"]}
        assert coins["BTC"]["walletBalance"] == "2.00999"
        assert coins["USDT"]["walletBalance"] == "99499.94489989"

    linear = sim.exchange("bybit", "linear").account(DEMO_ACCOUNT_ID)
    assert linear.balances["USDT"].total == D("99499.94489989")
    assert linear.positions["BTCUSDT"].quantity == D("0.002")


# -- public streams and reconciliation endpoints -------------------------------------------------------------------


async def test_public_linear_stream_pushes_book_trades_and_tickers(client: BybitClient, sim: Any) -> None:
    async with client.session.ws_connect(client.ws_url("/v5/public/linear")) as ws:
        await ws.send_json({"op": "subscribe", "req_id": "p1",
                            "args": ["orderbook.1.BTCUSDT", "publicTrade.BTCUSDT", "tickers.BTCUSDT"]})
        ack = await receive(ws)
        assert (ack["op"], ack["success"], ack["req_id"]) == ("subscribe", True, "p1")
        book = await receive_topic(ws, "orderbook.1.BTCUSDT")
        assert (book["type"], book["data"]["b"], book["data"]["a"]) == (
            "snapshot", [["49999.9", "1"]], [["50000.1", "1"]])
        ticker = (await receive_topic(ws, "tickers.BTCUSDT"))["data"]
        assert (ticker["lastPrice"], ticker["bid1Price"], ticker["ask1Price"]) == ("50000", "49999.9", "50000.1")

        sim.exchange("bybit", "linear").set_price("BTCUSDT", D("50100"))
        trade = (await receive_topic(ws, "publicTrade.BTCUSDT"))["data"][0]
        assert (trade["s"], trade["p"], trade["S"]) == ("BTCUSDT", "50100", "Buy")
        moved = await receive_topic(ws, "orderbook.1.BTCUSDT")
        assert moved["data"]["a"] == [["50100.1", "1"]]

        await ws.send_json({"op": "subscribe", "req_id": "p2", "args": ["orderbook.7.BTCUSDT"]})
        refused = await receive_ack(ws, "p2")
        assert (refused["success"], refused["ret_msg"]) == (False, "error:handler not found,topic:orderbook.7.BTCUSDT")


async def test_reconciliation_endpoints_report_orders_fills_and_positions(client: BybitClient) -> None:
    _, resting = await client.post("/v5/order/create", {"category": "linear", "symbol": "BTCUSDT", "side": "Buy",
                                                        "orderType": "Limit", "qty": "0.01", "price": "49000",
                                                        "orderLinkId": "rest-1"})
    _, market = await client.post("/v5/order/create", {"category": "linear", "symbol": "BTCUSDT", "side": "Sell",
                                                       "orderType": "Market", "qty": "0.004", "orderLinkId": "mkt-1"})
    assert (resting["retCode"], market["retCode"]) == (0, 0)

    (open_order,) = await open_orders(client, "linear")
    assert (open_order["orderLinkId"], open_order["orderStatus"], open_order["leavesQty"]) == ("rest-1", "New", "0.01")
    _, history = await client.get("/v5/order/history", {"category": "linear", "settleCoin": "USDT"})
    (closed,) = history["result"]["list"]
    assert (closed["orderLinkId"], closed["orderStatus"], closed["avgPrice"]) == ("mkt-1", "Filled", "49999.9")
    _, by_link = await client.get("/v5/order/realtime", {"category": "linear", "symbol": "BTCUSDT",
                                                         "orderLinkId": "mkt-1"})
    assert [o["orderStatus"] for o in by_link["result"]["list"]] == ["Filled"]

    _, fills = await client.get("/v5/execution/list", {"category": "linear"})
    (fill,) = fills["result"]["list"]
    assert (fill["orderLinkId"], fill["execPrice"], fill["execQty"], fill["feeCurrency"]) == (
        "mkt-1", "49999.9", "0.004", "USDT")
    _, positions = await client.get("/v5/position/list", {"category": "linear", "settleCoin": "USDT"})
    (position,) = positions["result"]["list"]
    assert (position["side"], position["size"], position["avgPrice"]) == ("Sell", "0.004", "49999.9")
    _, missing_filter = await client.get("/v5/position/list", {"category": "linear"})
    assert missing_filter["retCode"] == 10001


async def test_ping_is_answered_on_every_stream(client: BybitClient) -> None:
    async with client.session.ws_connect(client.ws_url("/v5/private")) as private, \
            client.session.ws_connect(client.ws_url("/v5/trade")) as trade, \
            client.session.ws_connect(client.ws_url("/v5/public/spot")) as public:
        await private.send_json({"op": "ping", "req_id": "hb"})
        pong = await receive(private)
        assert (pong["op"], pong["req_id"]) == ("pong", "hb")
        await trade.send_json({"op": "ping"})
        assert (await receive(trade))["op"] == "pong"
        await public.send_json({"op": "ping", "req_id": "hb"})
        assert (await receive(public))["ret_msg"] == "pong"


async def test_paused_user_stream_holds_pushes_until_resumed(client: BybitClient, sim: Any) -> None:
    async with client.session.ws_connect(client.ws_url("/v5/private")) as private:
        await private.send_json({"op": "auth", "args": client.auth_args()})
        await receive(private)
        await private.send_json({"op": "subscribe", "args": ["order.spot"], "req_id": "s"})
        await receive_ack(private, "s")
        sim.runtimes["bybit"].faults.pause_user_stream()
        _, body = await client.post("/v5/order/create", {"category": "spot", "symbol": "ETHUSDT", "side": "Sell",
                                                         "orderType": "Limit", "qty": "1", "price": "3100",
                                                         "orderLinkId": "held"})
        assert body["retCode"] == 0
        await sim.runtimes["bybit"].faults.resume_user_stream()
        held = await receive_topic(private, "order.spot")
        assert (held["data"][0]["orderLinkId"], held["data"][0]["orderStatus"]) == ("held", "New")


async def test_same_seed_and_requests_give_identical_answers() -> None:
    start = now_ms()

    async def answers() -> list[bytes]:
        config = SimConfig.default(venues=("bybit",), tick_interval_ms=0, manual_clock=True, clock_start_ms=start)
        async with run_simulator(config) as running, aiohttp.ClientSession() as session:
            client = BybitClient(session, running.urls["bybit"]["main"])
            bodies = []
            for request in (
                {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market", "qty": "0.01"},
                {"category": "spot", "symbol": "ETHUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.5",
                 "price": "2900", "orderLinkId": "det-1"},
            ):
                _, body = await client.post("/v5/order/create", request, timestamp=start)
                bodies.append(body)
            for path, params in (("/v5/execution/list", {"category": "linear"}),
                                 ("/v5/order/realtime", {"category": "spot"}),
                                 ("/v5/account/wallet-balance", {"accountType": "UNIFIED"})):
                bodies.append((await client.get(path, params, timestamp=start))[1])
            return [repr(b).encode() for b in bodies]

    first, second = await answers(), await answers()
    assert first == second
    assert b"det-1" in first[3]


async def test_rest_create_amend_cancel_round_trip(client: BybitClient) -> None:
    _, created = await client.post("/v5/order/create", {"category": "spot", "symbol": "ETHUSDT", "side": "Buy",
                                                        "orderType": "Limit", "qty": "1", "price": "2900",
                                                        "timeInForce": "PostOnly", "orderLinkId": "rt-1"})
    order_id = created["result"]["orderId"]
    assert (await wallet(client))["USDT"]["locked"] == "2900"
    _, duplicate = await client.post("/v5/order/create", {"category": "spot", "symbol": "ETHUSDT", "side": "Buy",
                                                          "orderType": "Limit", "qty": "1", "price": "2800",
                                                          "orderLinkId": "rt-1"})
    assert (duplicate["retCode"], duplicate["retMsg"]) == (170141, "Duplicate clientOrderId")  # spot's code
    _, amended = await client.post("/v5/order/amend", {"category": "spot", "symbol": "ETHUSDT", "orderId": order_id,
                                                       "qty": "2"})
    assert amended["result"] == {"orderId": order_id, "orderLinkId": "rt-1"}
    assert (await wallet(client))["USDT"]["locked"] == "5800"
    _, cancelled = await client.post("/v5/order/cancel", {"category": "spot", "symbol": "ETHUSDT",
                                                          "orderLinkId": "rt-1"})
    assert cancelled["retCode"] == 0
    _, history = await client.get("/v5/order/history", {"category": "spot", "orderId": order_id})
    (order,) = history["result"]["list"]
    assert (order["orderStatus"], order["qty"], order["timeInForce"], order["cancelType"]) == (
        "Cancelled", "2", "PostOnly", "CancelByUser")
    assert (await wallet(client))["USDT"]["locked"] == "0"


async def test_linear_stop_order_waits_untriggered_then_fills(client: BybitClient, sim: Any) -> None:
    _, created = await client.post("/v5/order/create", {"category": "linear", "symbol": "BTCUSDT", "side": "Buy",
                                                        "orderType": "Market", "qty": "0.01", "triggerPrice": "50500",
                                                        "triggerDirection": 1, "orderLinkId": "stop-1"})
    assert created["retCode"] == 0
    _, stops = await client.get("/v5/order/realtime", {"category": "linear", "symbol": "BTCUSDT",
                                                       "orderFilter": "StopOrder"})
    (stop,) = stops["result"]["list"]
    assert (stop["orderStatus"], stop["triggerPrice"], stop["stopOrderType"]) == ("Untriggered", "50500", "Stop")
    sim.exchange("bybit", "linear").set_price("BTCUSDT", D("50600"))
    _, history = await client.get("/v5/order/history", {"category": "linear", "orderLinkId": "stop-1",
                                                         "symbol": "BTCUSDT"})
    assert history["result"]["list"][0]["orderStatus"] == "Filled"
    _, if_touched = await client.post("/v5/order/create", {"category": "linear", "symbol": "BTCUSDT", "side": "Buy",
                                                           "orderType": "Market", "qty": "0.01",
                                                           "triggerPrice": "50000", "triggerDirection": 2})
    assert if_touched["retCode"] == 10001
