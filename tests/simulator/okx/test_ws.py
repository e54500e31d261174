"""OKX v5 WebSockets against the simulator: ping/pong, login failures, order entry over the private socket with its
answer envelope and the ``orders`` / ``account`` / ``positions`` pushes that follow, public channels."""

from __future__ import annotations

import time
from decimal import Decimal

import aiohttp
import pytest

from tests.simulator.okx.conftest import Keys, OkxSim, OkxSocket

ORDERS = {"channel": "orders", "instType": "ANY"}


def is_channel(channel: str):
    return lambda message: message.get("arg", {}).get("channel") == channel and "data" in message


def usdt(account_push: dict) -> tuple[str, str, str]:
    detail = next(d for d in account_push["data"][0]["details"] if d["ccy"] == "USDT")
    return detail["cashBal"], detail["availBal"], detail["frozenBal"]


@pytest.mark.parametrize("endpoint", ["public", "private", "business"])
async def test_plain_text_ping_gets_pong(okx: OkxSim, endpoint: str) -> None:
    socket = await okx.socket(endpoint)
    await socket.send("ping")
    assert await socket.receive_text() == "pong"


@pytest.mark.parametrize(
    ("keys", "offset_s", "bad_sign", "code", "msg"),
    [
        (Keys(), 0, True, "60007", "Invalid sign"),
        (Keys(api_key="nope"), 0, False, "60005", "Invalid apiKey"),
        (Keys(passphrase="wrong"), 0, False, "60024", "Wrong passphrase"),
        (Keys(), -120, False, "60006", "Timestamp request expired"),
    ],
)
async def test_failed_login_is_refused_and_private_channels_stay_closed(
    okx: OkxSim, keys: Keys, offset_s: int, bad_sign: bool, code: str, msg: str
) -> None:
    socket = await okx.socket("private")
    timestamp = str(int(time.time()) + offset_s)
    answer = await socket.login(keys, timestamp=timestamp, sign="c2lnbmF0dXJl" if bad_sign else None)
    assert answer == {"event": "error", "code": code, "msg": msg, "connId": answer["connId"]}
    await socket.send({"op": "subscribe", "args": [ORDERS]})
    refused = await socket.receive()
    assert (refused["event"], refused["code"], refused["msg"]) == ("error", "60011", "Please log in")
    await socket.send({"id": "o1", "op": "order", "args": [{"instId": "BTC-USDT", "tdMode": "cash", "side": "buy",
                                                            "ordType": "limit", "sz": "0.1", "px": "40000"}]})
    refused = await socket.receive()
    assert (refused["id"], refused["code"], refused["data"]) == ("o1", "60011", [])
    assert okx.spot.open_orders(okx.spot.account_ids[0]) == []


async def subscribed_private(okx: OkxSim) -> OkxSocket:
    socket = await okx.private_socket()
    await socket.subscribe(ORDERS, {"channel": "account"})
    snapshot = await socket.receive_until(is_channel("account"))
    assert usdt(snapshot) == ("100000", "100000", "0")
    return socket


async def test_order_amend_cancel_over_private_ws_push_orders_and_account(okx: OkxSim) -> None:
    socket = await subscribed_private(okx)
    code = (await okx.rest.get("/api/v5/public/instruments?instType=SPOT&instId=BTC-USDT",
                                               signed=False))[1]["data"][0]["instIdCode"]
    await socket.send({"id": "1", "op": "order", "args": [{"instIdCode": code, "tdMode": "cash", "clOrdId": "ws1",
                                                           "side": "buy", "ordType": "limit", "sz": "0.5",
                                                           "px": "40000", "tag": "t1"}]})
    answer = await socket.receive()
    assert (answer["id"], answer["op"], answer["code"], answer["msg"]) == ("1", "order", "0", "")
    row = answer["data"][0]
    assert (row["clOrdId"], row["sCode"], row["tag"]) == ("ws1", "0", "t1")
    order_id = row["ordId"]
    assert answer["inTime"] and answer["outTime"]
    live = await socket.receive_until(is_channel("orders"))
    pushed = live["data"][0]
    assert (pushed["ordId"], pushed["clOrdId"], pushed["state"], pushed["sz"], pushed["px"], pushed["instType"],
            pushed["tdMode"], pushed["tag"]) == (order_id, "ws1", "live", "0.5", "40000", "SPOT", "cash", "t1")
    assert usdt(await socket.receive_until(is_channel("account"))) == ("100000", "80000", "20000")

    await socket.send({"id": "2", "op": "amend-order", "args": [{"instIdCode": code, "ordId": order_id,
                                                                 "newPx": "41000", "newSz": "0.4"}]})
    answer = await socket.receive()
    assert (answer["id"], answer["op"], answer["code"], answer["data"][0]["sCode"]) == ("2", "amend-order", "0", "0")
    amended = (await socket.receive_until(is_channel("orders")))["data"][0]
    assert (amended["state"], amended["px"], amended["sz"], amended["amendResult"]) == ("live", "41000", "0.4", "0")
    assert usdt(await socket.receive_until(is_channel("account"))) == ("100000", "83600", "16400")

    await socket.send({"id": "3", "op": "cancel-order", "args": [{"instIdCode": code, "clOrdId": "ws1"}]})
    answer = await socket.receive()
    assert (answer["id"], answer["code"], answer["data"][0]["ordId"]) == ("3", "0", order_id)
    canceled = (await socket.receive_until(is_channel("orders")))["data"][0]
    assert (canceled["ordId"], canceled["state"]) == (order_id, "canceled")
    assert usdt(await socket.receive_until(is_channel("account"))) == ("100000", "100000", "0")


async def test_rejected_ws_order_answers_with_scode_and_changes_nothing(okx: OkxSim) -> None:
    socket = await subscribed_private(okx)
    before = okx.sim.state("okx")["markets"]
    await socket.send({"id": "9", "op": "order", "args": [{"instId": "BTC-USDT", "tdMode": "cash", "side": "buy",
                                                           "ordType": "limit", "sz": "10", "px": "50000"}]})
    answer = await socket.receive()
    assert (answer["id"], answer["code"]) == ("9", "1")
    assert (answer["data"][0]["sCode"], answer["data"][0]["sMsg"]) == (
        "51008", "Order failed. Insufficient USDT balance in account")
    await socket.send({"id": "10", "op": "cancel-order", "args": [{"instId": "BTC-USDT", "ordId": "42"}]})
    answer = await socket.receive()
    assert (answer["id"], answer["code"], answer["data"][0]["sCode"]) == ("10", "1", "51400")
    assert okx.sim.state("okx")["markets"] == before


async def test_swap_market_order_pushes_fill_position_and_account_in_contracts(okx: OkxSim) -> None:
    socket = await subscribed_private(okx)
    await socket.subscribe({"channel": "positions", "instType": "SWAP"})
    empty = await socket.receive_until(is_channel("positions"))
    assert empty["data"] == []
    okx.swap.set_liquidity("BTC-USDT-SWAP", Decimal("2"))
    ask = okx.swap.market("BTC-USDT-SWAP").best_ask
    tick = okx.swap.instrument("BTC-USDT-SWAP").tick_size
    await socket.send({"id": "s1", "op": "order", "args": [{"instId": "BTC-USDT-SWAP", "tdMode": "cross",
                                                            "side": "buy", "posSide": "net", "ordType": "market",
                                                            "sz": "3"}]})
    answer = await socket.receive()
    assert answer["code"] == "0"
    order_id = answer["data"][0]["ordId"]
    states = []
    fills = []
    while not states or states[-1] != "filled":
        pushed = (await socket.receive_until(is_channel("orders")))["data"][0]
        assert pushed["ordId"] == order_id
        states.append(pushed["state"])
        if pushed["fillSz"] != "0":
            fills.append((pushed["fillSz"], pushed["fillPx"], pushed["accFillSz"]))
    assert states == ["live", "partially_filled", "filled"]
    assert fills == [("2", str(ask), "2"), ("1", str(ask + tick), "3")]
    position = (await socket.receive_until(is_channel("positions")))["data"][0]
    while position["pos"] != "3":
        position = (await socket.receive_until(is_channel("positions")))["data"][0]
    average = (ask * 2 + (ask + tick)) / 3
    assert (position["instId"], position["posSide"], position["pos"], Decimal(position["avgPx"])) == (
        "BTC-USDT-SWAP", "net", "3", average)
    contract = okx.swap.instrument("BTC-USDT-SWAP").contract_size
    core = okx.swap.position(okx.swap.account_ids[0], "BTC-USDT-SWAP")
    assert core.quantity == Decimal(position["pos"])
    assert core.quantity * contract == Decimal("0.03")
    fee = (ask * 2 + (ask + tick)) * contract * Decimal("0.0005")
    assert okx.swap.account(okx.swap.account_ids[0]).balances["USDT"].total == Decimal("100000") - fee


async def test_public_channels_send_snapshots_and_trades(okx: OkxSim) -> None:
    socket = await okx.socket("public")
    await socket.subscribe({"channel": "instruments", "instType": "SWAP"})
    listed = await socket.receive_until(is_channel("instruments"))
    assert {i["instId"] for i in listed["data"]} == {"BTC-USDT-SWAP", "ETH-USDT-SWAP"}
    await socket.subscribe({"channel": "bbo-tbt", "instId": "BTC-USDT"})
    bbo = (await socket.receive_until(is_channel("bbo-tbt")))["data"][0]
    market = okx.spot.market("BTC-USDT")
    assert (bbo["bids"][0][0], bbo["asks"][0][0]) == (str(market.best_bid), str(market.best_ask))
    await socket.subscribe({"channel": "books", "instId": "BTC-USDT"}, {"channel": "trades", "instId": "BTC-USDT"})
    snapshot = await socket.receive_until(is_channel("books"))
    assert snapshot["action"] == "snapshot" and snapshot["data"][0]["prevSeqId"] == -1
    assert len(snapshot["data"][0]["bids"]) == 10
    okx.spot.set_price("BTC-USDT", Decimal("50100"))
    trade = (await socket.receive_until(is_channel("trades")))["data"][0]
    assert (trade["instId"], trade["px"], trade["side"]) == ("BTC-USDT", "50100", "buy")
    update = await socket.receive_until(is_channel("books"))
    assert update["action"] == "update"
    assert update["data"][0]["prevSeqId"] == snapshot["data"][0]["seqId"]
    await socket.send({"op": "subscribe", "args": [{"channel": "orders", "instType": "ANY"}]})
    refused = await socket.receive()
    assert (refused["event"], refused["code"]) == ("error", "60018")


async def test_business_socket_needs_login_for_algo_channels(okx: OkxSim) -> None:
    socket = await okx.socket("business")
    await socket.send({"op": "subscribe", "args": [{"channel": "orders-algo", "instType": "SWAP"}]})
    refused = await socket.receive()
    assert (refused["event"], refused["code"]) == ("error", "60011")
    login = await socket.login()
    assert login["event"] == "login" and login["code"] == "0"
    await socket.subscribe({"channel": "orders-algo", "instType": "SWAP"}, {"channel": "algo-advance",
                                                                           "instType": "SWAP"})


async def test_paused_user_stream_delivers_held_pushes_in_order_on_resume(okx: OkxSim) -> None:
    socket = await subscribed_private(okx)
    faults = okx.sim.runtimes["okx"].faults
    faults.pause_user_stream()
    body = {"instId": "BTC-USDT", "tdMode": "cash", "clOrdId": "held1", "side": "buy", "ordType": "limit",
            "sz": "0.1", "px": "40000"}
    _, answer = await okx.rest.post("/api/v5/trade/order", body)
    assert answer["code"] == "0"
    assert await faults.resume_user_stream() == 2  # the order's "live" push and the account push
    pushed = (await socket.receive_until(is_channel("orders")))["data"][0]
    assert (pushed["clOrdId"], pushed["state"]) == ("held1", "live")
    assert usdt(await socket.receive_until(is_channel("account"))) == ("100000", "96000", "4000")


async def test_dropped_sockets_are_closed(okx: OkxSim) -> None:
    socket = await okx.private_socket()
    assert await okx.sim.runtimes["okx"].faults.drop_sockets() == 1
    message = await socket.ws.receive()
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
