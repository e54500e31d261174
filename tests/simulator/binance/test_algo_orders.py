"""USD-M conditional orders over the Algo Order API: an algo order until the trigger, a regular order afterwards."""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.adapters.binance.futures.schemas.account import (
    BinanceFuturesAlgoOrder,
    BinanceFuturesAlgoOrderCancelResponse,
)
from nautilus_trader.adapters.binance.futures.schemas.user import BinanceFuturesAlgoUpdateMsg

from backend.simulator.venues.binance.algo import ALGO_ID_OFFSET
from tests.simulator.binance.conftest import books, control
from tests.simulator.binance.test_payload_shapes import decode

STOP_SELL = {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET", "algoType": "CONDITIONAL",
             "quantity": "0.010", "triggerPrice": "49000", "clientAlgoId": "stop-1"}


async def test_stop_market_waits_as_algo_order_then_triggers_into_a_regular_order(sim, session, futures) -> None:
    listen_key = (await futures.request("POST", "/fapi/v1/listenKey", signed=False))[1]["listenKey"]
    ws = await session.ws_connect(f"{sim.env['SIM_BINANCE_FUTURES_WS_STREAM']}/ws?listenKey={listen_key}")
    status, placed = await futures.request("POST", "/fapi/v1/algoOrder", STOP_SELL)
    assert (status, placed["algoStatus"], placed["orderType"], placed["actualOrderId"]) == \
        (200, "NEW", "STOP_MARKET", "")
    algo_id = decode(placed, BinanceFuturesAlgoOrder).algoId
    assert decode(await ws.receive_json(), BinanceFuturesAlgoUpdateMsg).o.X.value == "NEW"
    assert [o["algoId"] for o in (await futures.request("GET", "/fapi/v1/openAlgoOrders"))[1]] == [algo_id]
    assert (await futures.request("GET", "/fapi/v1/openOrders"))[1] == []  # not a regular order yet
    order_id = algo_id - ALGO_ID_OFFSET
    assert await futures.request("GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": order_id}) == \
        (400, {"code": -2013, "msg": "Order does not exist."})

    await control(session, sim, "usdt_futures", "price", {"symbol": "BTCUSDT", "price": "48900"})
    triggered, new, trade = [await ws.receive_json() for _ in range(3)]
    assert (triggered["e"], triggered["o"]["X"], triggered["o"]["ai"]) == ("ALGO_UPDATE", "TRIGGERED", str(order_id))
    assert (new["e"], new["o"]["x"], new["o"]["o"], new["o"]["ot"], new["o"]["c"], new["o"]["i"]) == \
        ("ORDER_TRADE_UPDATE", "NEW", "MARKET", "STOP_MARKET", "stop-1", order_id)
    assert (trade["o"]["x"], trade["o"]["X"], trade["o"]["z"]) == ("TRADE", "FILLED", "0.010")
    assert (await ws.receive_json())["e"] == "ACCOUNT_UPDATE"
    status, queried = await futures.request("GET", "/fapi/v1/algoOrder", {"algoId": algo_id})
    assert (status, queried["algoStatus"], queried["actualOrderId"]) == (200, "FINISHED", str(order_id))
    position = sim.exchange("binance", "usdt_futures").position("demo", "BTCUSDT")
    assert position.quantity == Decimal("-0.010")
    await ws.close()


async def test_algo_order_cancel_and_refusals(sim, futures) -> None:
    status, placed = await futures.request("POST", "/fapi/v1/algoOrder", STOP_SELL)
    assert status == 200
    status, cancelled = await futures.request("DELETE", "/fapi/v1/algoOrder", {"clientAlgoId": "stop-1"})
    assert (status, decode(cancelled, BinanceFuturesAlgoOrderCancelResponse)) == \
        (200, BinanceFuturesAlgoOrderCancelResponse(algoId=placed["algoId"], clientAlgoId="stop-1", code="200",
                                                    msg="success"))
    assert await futures.request("DELETE", "/fapi/v1/algoOrder", {"algoId": placed["algoId"]}) == \
        (400, {"code": -2011, "msg": "Unknown order sent."})
    status, history = await futures.request("GET", "/fapi/v1/allAlgoOrders", {"symbol": "BTCUSDT"})
    assert [(o["algoId"], o["algoStatus"]) for o in history] == [(placed["algoId"], "CANCELED")]

    before = books(sim)
    assert await futures.request("POST", "/fapi/v1/algoOrder", {**STOP_SELL, "triggerPrice": "51000"}) == \
        (400, {"code": -2021, "msg": "Order would immediately trigger."})
    assert (await futures.request("POST", "/fapi/v1/algoOrder", {**STOP_SELL, "type": "TAKE_PROFIT"}))[1]["code"] \
        == -1000
    assert books(sim) == before
