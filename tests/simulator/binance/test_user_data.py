"""User data over the WebSocket API (spot, futures Ed25519) and the listenKey stream (futures HMAC), with the
user-stream pause fault and dropped sockets."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import aiohttp

from tests.simulator.binance.conftest import control

SPOT_MARKET_BUY = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01",
                   "newClientOrderId": "mkt-1"}
FUTURES_MARKET_BUY = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.010",
                      "newClientOrderId": "mkt-1"}


async def ws_api(session: aiohttp.ClientSession, url: str, method: str, params: dict[str, Any] | None = None,
                 ws: aiohttp.ClientWebSocketResponse | None = None) -> tuple[aiohttp.ClientWebSocketResponse, Any]:
    ws = ws or await session.ws_connect(url)
    await ws.send_json({"id": method, "method": method, "params": params or {}})
    return ws, await ws.receive_json()


async def events(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[dict[str, Any]]:
    return [await ws.receive_json() for _ in range(count)]


async def test_spot_ws_api_logon_subscribe_and_execution_reports(sim, session, spot) -> None:
    url = sim.env["SIM_BINANCE_SPOT_WS_API"]
    ws, answer = await ws_api(session, url, "userDataStream.subscribe")
    assert answer["status"] == 401 and answer["error"]["code"] == -1002  # not logged on yet
    _, answer = await ws_api(session, url, "session.logon", {**spot.logon_params(), "signature": "0" * 64}, ws)
    assert answer == {"id": "session.logon", "status": 400,
                      "error": {"code": -1022, "msg": "Signature for this request is not valid."}}
    _, answer = await ws_api(session, url, "session.logon", spot.logon_params(), ws)
    assert answer["status"] == 200 and answer["result"]["apiKey"] == spot.api_key
    _, answer = await ws_api(session, url, "userDataStream.subscribe", ws=ws)
    assert answer == {"id": "userDataStream.subscribe", "status": 200, "result": {"subscriptionId": 0}}

    status, placed = await spot.request("POST", "/api/v3/order", SPOT_MARKET_BUY)
    assert (status, placed["status"], len(placed["fills"])) == (200, "FILLED", 1)
    new, trade, balances = await events(ws, 3)
    assert {new["subscriptionId"], trade["subscriptionId"], balances["subscriptionId"]} == {0}
    assert (new["event"]["e"], new["event"]["x"], new["event"]["X"], new["event"]["c"]) == \
        ("executionReport", "NEW", "NEW", "mkt-1")
    fill = placed["fills"][0]
    assert (trade["event"]["x"], trade["event"]["X"], trade["event"]["l"], trade["event"]["L"], trade["event"]["t"],
            trade["event"]["n"], trade["event"]["N"]) == \
        ("TRADE", "FILLED", "0.01000000", fill["price"], fill["tradeId"], fill["commission"], "BTC")
    assert balances["event"]["e"] == "outboundAccountPosition"
    assert {b["a"]: b["f"] for b in balances["event"]["B"]} == {"BTC": "2.00999000", "USDT": "99499.99990000"}
    await ws.close()


async def test_futures_hmac_listen_key_stream_gets_order_and_account_updates(sim, session, futures) -> None:
    status, body = await futures.request("POST", "/fapi/v1/listenKey", signed=False)
    assert status == 200
    listen_key = body["listenKey"]
    assert await futures.request("PUT", "/fapi/v1/listenKey", signed=False) == (200, {"listenKey": listen_key})
    ws = await session.ws_connect(f"{sim.env['SIM_BINANCE_FUTURES_WS_STREAM']}/ws?listenKey={listen_key}")

    status, placed = await futures.request("POST", "/fapi/v1/order", FUTURES_MARKET_BUY)
    assert (status, placed["status"], placed["executedQty"]) == (200, "FILLED", "0.010")
    new, trade, account = await events(ws, 3)
    assert (new["e"], new["o"]["x"], new["o"]["X"], new["o"]["c"]) == ("ORDER_TRADE_UPDATE", "NEW", "NEW", "mkt-1")
    assert (trade["o"]["x"], trade["o"]["X"], trade["o"]["l"], trade["o"]["N"], trade["o"]["ps"]) == \
        ("TRADE", "FILLED", "0.010", "USDT", "BOTH")
    account_state = sim.exchange("binance", "usdt_futures").account("demo")
    assert account["e"] == "ACCOUNT_UPDATE"
    assert [(p["s"], p["pa"]) for p in account["a"]["P"]] == [("BTCUSDT", "0.010")]
    assert [(b["a"], Decimal(b["wb"])) for b in account["a"]["B"]] == [("USDT", account_state.balances["USDT"].total)]
    assert account_state.positions["BTCUSDT"].quantity == Decimal(trade["o"]["z"])
    await ws.close()

    assert await futures.request("DELETE", "/fapi/v1/listenKey", signed=False) == (200, {})
    async with session.get(f"{sim.urls['binance']['usdt_futures']}/ws?listenKey={listen_key}",
                           headers={"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                                    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}) as response:
        assert response.status == 400
        assert await response.json() == {"code": -1125, "msg": "This listenKey does not exist."}


async def test_futures_ws_api_logon_takes_ed25519_keys_only(sim, session, futures, futures_ed25519) -> None:
    url = sim.env["SIM_BINANCE_FUTURES_WS_API"]
    ws, answer = await ws_api(session, url, "session.logon", futures.logon_params())
    assert answer["status"] == 400 and answer["error"]["code"] == -4056  # HMAC keys cannot log on
    _, answer = await ws_api(session, url, "session.logon", futures_ed25519.logon_params(), ws)
    assert answer["status"] == 200
    _, answer = await ws_api(session, url, "userDataStream.start", ws=ws)
    listen_key = answer["result"]["listenKey"]
    stream = await session.ws_connect(f"{sim.env['SIM_BINANCE_FUTURES_WS_STREAM']}/ws?listenKey={listen_key}")
    assert (await futures_ed25519.request("POST", "/fapi/v1/order", FUTURES_MARKET_BUY))[0] == 200
    assert [e["e"] for e in await events(stream, 3)] == ["ORDER_TRADE_UPDATE", "ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE"]
    _, answer = await ws_api(session, url, "userDataStream.stop", {"listenKey": listen_key}, ws)
    assert answer == {"id": "userDataStream.stop", "status": 200, "result": {}}
    await stream.close()
    await ws.close()


async def test_paused_user_stream_holds_events_until_resume_while_fills_happen(sim, session, spot) -> None:
    url = sim.env["SIM_BINANCE_SPOT_WS_API"]
    ws, _ = await ws_api(session, url, "session.logon", spot.logon_params())
    await ws_api(session, url, "userDataStream.subscribe", ws=ws)
    await control(session, sim, "spot", "faults/user-stream/pause")

    status, placed = await spot.request("POST", "/api/v3/order", SPOT_MARKET_BUY)
    assert (status, placed["status"]) == (200, "FILLED")  # the fill happens while the stream is paused
    status, trades = await spot.request("GET", "/api/v3/myTrades", {"symbol": "BTCUSDT"})
    assert [t["orderId"] for t in trades] == [placed["orderId"]]
    # The socket answers requests in order, so a ping answered first proves no event was pushed meanwhile.
    _, answer = await ws_api(session, url, "ping", ws=ws)
    assert answer == {"id": "ping", "status": 200, "result": {}}

    assert await control(session, sim, "spot", "faults/user-stream/resume") == {"paused": False, "delivered": 3}
    held = await events(ws, 3)
    assert [(e["event"]["e"], e["event"].get("x")) for e in held] == \
        [("executionReport", "NEW"), ("executionReport", "TRADE"), ("outboundAccountPosition", None)]
    await ws.close()


async def test_ws_drop_closes_user_and_market_sockets(sim, session, spot) -> None:
    url = sim.env["SIM_BINANCE_SPOT_WS_API"]
    user, _ = await ws_api(session, url, "session.logon", spot.logon_params())
    market = await session.ws_connect(f"{sim.env['SIM_BINANCE_SPOT_WS']}/stream?streams=btcusdt@trade")
    assert await control(session, sim, "spot", "faults/ws/drop") == {"closed": 2}
    for ws in (user, market):
        message = await ws.receive()
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert ws.closed


async def test_spot_stop_loss_limit_rests_then_triggers_and_fills(sim, session, spot) -> None:
    url = sim.env["SIM_BINANCE_SPOT_WS_API"]
    ws, _ = await ws_api(session, url, "session.logon", spot.logon_params())
    await ws_api(session, url, "userDataStream.subscribe", ws=ws)
    stop = {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_LOSS_LIMIT", "timeInForce": "GTC", "quantity": "0.01",
            "stopPrice": "49000", "price": "48900", "newClientOrderId": "stop-1"}
    status, placed = await spot.request("POST", "/api/v3/order", stop)
    assert (status, placed["type"], placed["status"]) == (200, "STOP_LOSS_LIMIT", "NEW")
    new, locked = await events(ws, 2)
    assert (new["event"]["x"], new["event"]["o"], new["event"]["P"]) == ("NEW", "STOP_LOSS_LIMIT", "49000.00000000")
    assert locked["event"]["B"] == [{"a": "BTC", "f": "1.99000000", "l": "0.01000000"}]

    await control(session, sim, "spot", "price", {"symbol": "BTCUSDT", "price": "48950"})
    trade = (await events(ws, 1))[0]["event"]
    assert (trade["x"], trade["X"], trade["c"], trade["L"]) == ("TRADE", "FILLED", "stop-1", "48949.99000000")
    await ws.close()
