"""OKX trigger algo orders: placed with ``order-algo``, listed by ``orders-algo-pending`` and not as a regular order
(REST or ``orders`` channel) until the last price crosses ``triggerPx``; then the order trades and the algo is
``effective``; ``cancel-algos`` cancels a waiting one."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from tests.simulator.okx.conftest import OkxSim

D = Decimal
SWAP = "BTC-USDT-SWAP"


def is_channel(channel: str):
    return lambda message: message.get("arg", {}).get("channel") == channel and "data" in message


async def pending(okx: OkxSim) -> list[dict]:
    _, body = await okx.rest.get("/api/v5/trade/orders-algo-pending?ordType=trigger")
    assert body["code"] == "0", body
    return body["data"]


async def test_trigger_order_waits_as_an_algo_then_trades(okx: OkxSim) -> None:
    socket = await okx.private_socket()
    await socket.subscribe({"channel": "orders", "instType": "ANY"})
    last = okx.swap.market(SWAP).last_price
    trigger = last + D("100")
    _, placed = await okx.rest.post("/api/v5/trade/order-algo", {
        "instId": SWAP, "tdMode": "cross", "side": "buy", "ordType": "trigger", "sz": "2",
        "triggerPx": str(trigger), "orderPx": "-1", "algoClOrdId": "algo1"})
    assert placed["code"] == "0", placed
    algo_id = placed["data"][0]["algoId"]
    assert placed["data"][0]["algoClOrdId"] == "algo1"
    [waiting] = await pending(okx)
    assert (waiting["algoId"], waiting["state"], D(waiting["triggerPx"]), waiting["ordPx"], waiting["ordId"]) == (
        algo_id, "live", trigger, "-1", "")
    _, regular = await okx.rest.get("/api/v5/trade/orders-pending")
    assert regular["data"] == []
    _, by_id = await okx.rest.get(f"/api/v5/trade/order?instId={SWAP}&ordId={algo_id}")
    assert by_id["code"] == "51603"
    with_timeout = asyncio.wait_for(socket.receive_until(is_channel("orders")), 0.3)
    try:
        pushed = await with_timeout
    except TimeoutError:
        pushed = None
    assert pushed is None  # no ``orders`` push for a waiting algo

    okx.swap.set_price(SWAP, trigger + D("50"))
    filled = None
    while filled is None or filled["state"] != "filled":
        filled = (await socket.receive_until(is_channel("orders")))["data"][0]
    assert (filled["ordId"], filled["accFillSz"]) == (algo_id, "2")
    assert await pending(okx) == []
    _, history = await okx.rest.get("/api/v5/trade/orders-algo-history?ordType=trigger&state=effective")
    assert [(h["algoId"], h["state"], h["ordIdList"]) for h in history["data"]] == [(algo_id, "effective", [algo_id])]
    assert okx.swap.position(okx.swap.account_ids[0], SWAP).quantity == D("2")


async def test_cancel_algos_cancels_a_waiting_trigger_and_refuses_twice(okx: OkxSim) -> None:
    last = okx.spot.market("BTC-USDT").last_price
    _, placed = await okx.rest.post("/api/v5/trade/order-algo", {
        "instId": "BTC-USDT", "tdMode": "cash", "side": "sell", "ordType": "trigger", "sz": "0.01",
        "triggerPx": str(last - D("500")), "orderPx": str(last - D("600"))})
    algo_id = placed["data"][0]["algoId"]
    assert okx.spot.account(okx.spot.account_ids[0]).balances["BTC"].locked == D("0.01")
    _, cancelled = await okx.rest.post("/api/v5/trade/cancel-algos", [{"algoId": algo_id, "instId": "BTC-USDT"}])
    assert (cancelled["code"], cancelled["data"][0]["sCode"]) == ("0", "0")
    assert await pending(okx) == []
    assert okx.spot.account(okx.spot.account_ids[0]).balances["BTC"].locked == D("0")
    _, again = await okx.rest.post("/api/v5/trade/cancel-algos", [{"algoId": algo_id, "instId": "BTC-USDT"}])
    assert again["code"] == "1" and again["data"][0]["sCode"] == "51400"
    _, unsupported = await okx.rest.post("/api/v5/trade/order-algo", {
        "instId": "BTC-USDT", "tdMode": "cash", "side": "sell", "ordType": "oco", "sz": "0.01"})
    assert unsupported["data"][0]["sCode"] == "51000"
