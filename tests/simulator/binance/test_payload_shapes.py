"""Every payload NautilusTrader's Binance adapter reads decodes with the adapter's own msgspec schemas, and carries at
least the keys of the real payloads recorded in nautechsystems/nautilus_trader
``tests/integration_tests/adapters/binance/resources/`` (key sets copied below, trailing-stop-only keys left out)."""

from __future__ import annotations

from typing import Any

import msgspec
from nautilus_trader.adapters.binance.common.schemas.account import BinanceOrder, BinanceUserTrade
from nautilus_trader.adapters.binance.common.schemas.market import (
    BinanceAggregatedTradeMsg,
    BinanceAggTrade,
    BinanceDepth,
    BinanceOrderBookMsg,
    BinanceQuoteMsg,
    BinanceTrade,
)
from nautilus_trader.adapters.binance.common.schemas.user import BinanceListenKey
from nautilus_trader.adapters.binance.futures.schemas.account import (
    BinanceFuturesAccountInfo,
    BinanceFuturesAlgoOrder,
    BinanceFuturesDualSidePosition,
    BinanceFuturesPositionRisk,
    BinanceFuturesSymbolConfig,
)
from nautilus_trader.adapters.binance.futures.schemas.market import BinanceFuturesExchangeInfo
from nautilus_trader.adapters.binance.futures.schemas.user import (
    BinanceFuturesAccountUpdateMsg,
    BinanceFuturesOrderUpdateMsg,
)
from nautilus_trader.adapters.binance.futures.schemas.wallet import BinanceFuturesCommissionRate
from nautilus_trader.adapters.binance.spot.schemas.account import BinanceSpotAccountInfo
from nautilus_trader.adapters.binance.spot.schemas.market import BinanceSpotExchangeInfo, BinanceSpotTradeMsg
from nautilus_trader.adapters.binance.spot.schemas.user import BinanceSpotAccountUpdateMsg, BinanceSpotOrderUpdateData
from nautilus_trader.adapters.binance.spot.schemas.wallet import BinanceSpotTradeFee

from tests.simulator.binance.conftest import control

RECORDED_KEYS = {
    # http_responses/http_spot_wallet_account.json
    "spot account": {"makerCommission", "takerCommission", "buyerCommission", "sellerCommission", "canTrade",
                     "canWithdraw", "canDeposit", "updateTime", "accountType", "balances", "permissions"},
    # http_responses/http_spot_market_exchange_info.json (one symbol)
    "spot symbol": {"symbol", "status", "baseAsset", "baseAssetPrecision", "quoteAsset", "quotePrecision",
                    "quoteAssetPrecision", "baseCommissionPrecision", "quoteCommissionPrecision", "orderTypes",
                    "icebergAllowed", "ocoAllowed", "quoteOrderQtyMarketAllowed", "isSpotTradingAllowed",
                    "isMarginTradingAllowed", "allowTrailingStop", "filters", "permissions"},
    # http_responses/http_futures_usdt_exchange_info.json (one symbol)
    "futures symbol": {"symbol", "pair", "contractType", "deliveryDate", "onboardDate", "status", "maintMarginPercent",
                       "requiredMarginPercent", "baseAsset", "quoteAsset", "marginAsset", "pricePrecision",
                       "quantityPrecision", "baseAssetPrecision", "quotePrecision", "underlyingType",
                       "underlyingSubType", "settlePlan", "triggerProtect", "liquidationFee", "marketTakeBound",
                       "filters", "orderTypes", "timeInForce"},
    # http_responses/http_futures_account_orders.json (minus activatePrice / priceRate: trailing stops only)
    "futures order": {"avgPrice", "clientOrderId", "cumQuote", "executedQty", "orderId", "origQty", "origType",
                      "price", "reduceOnly", "side", "positionSide", "status", "stopPrice", "closePosition", "symbol",
                      "time", "timeInForce", "type", "updateTime", "workingType", "priceProtect"},
    # http_responses/http_futures_account_trades.json
    "futures trade": {"symbol", "id", "orderId", "side", "price", "qty", "realizedPnl", "marginAsset", "quoteQty",
                      "commission", "commissionAsset", "time", "positionSide", "buyer", "maker"},
    # http_responses/http_futures_account_symbol_config.json
    "symbol config": {"symbol", "marginType", "isAutoAddMargin", "leverage", "maxNotionalValue"},
    # http_responses/http_futures_account_positions_one_way.json (positionRisk v2)
    "position risk v2": {"entryPrice", "marginType", "isAutoAddMargin", "isolatedMargin", "leverage",
                         "liquidationPrice", "markPrice", "maxNotionalValue", "positionAmt", "symbol",
                         "unRealizedProfit", "positionSide", "updateTime"},
    # ws_messages/ws_spot_execution_report_trade.json
    "executionReport": {"e", "E", "s", "c", "S", "o", "f", "q", "p", "P", "F", "g", "C", "x", "X", "r", "i", "l", "z",
                        "L", "n", "N", "T", "t", "I", "w", "m", "M", "O", "Z", "Y", "Q"},
    # ws_messages/ws_futures_order_update_trade_reduce_only_qty.json (minus AP / cr: trailing stops only)
    "ORDER_TRADE_UPDATE.o": {"s", "c", "S", "o", "f", "q", "p", "ap", "sp", "x", "X", "i", "l", "z", "L", "N", "n",
                             "T", "t", "b", "a", "m", "R", "wt", "ot", "ps", "cp", "pP", "si", "ss", "rp", "gtd", "V"},
    # ws_messages/ws_futures_usdt_depth_update.json
    "futures depthUpdate": {"e", "E", "T", "s", "U", "u", "pu", "b", "a"},
    # ws_messages/ws_spot_trade.json (minus b / a: buyer and seller order ids, dropped by Binance in 2023)
    "spot trade": {"e", "E", "s", "t", "p", "q", "T", "m", "M"},
}


def decode(payload: Any, schema: Any) -> Any:
    return msgspec.json.decode(msgspec.json.encode(payload), type=schema, strict=True)


def has_recorded_keys(name: str, payload: dict[str, Any]) -> None:
    missing = RECORDED_KEYS[name] - set(payload)
    assert not missing, f"{name} lacks {sorted(missing)}"


async def ok(client: Any, method: str, path: str, params: dict[str, Any] | None = None, signed: bool = True) -> Any:
    status, body = await client.request(method, path, params, signed=signed)
    assert status == 200, body
    return body


async def test_spot_rest_payloads(spot) -> None:
    info = decode(await ok(spot, "GET", "/api/v3/exchangeInfo", signed=False), BinanceSpotExchangeInfo)
    assert [s.symbol for s in info.symbols] == ["BTCUSDT", "ETHUSDT"]
    raw_info = await ok(spot, "GET", "/api/v3/exchangeInfo", {"symbols": '["ETHUSDT"]'}, signed=False)
    assert [s["symbol"] for s in raw_info["symbols"]] == ["ETHUSDT"]
    has_recorded_keys("spot symbol", raw_info["symbols"][0])
    account = await ok(spot, "GET", "/api/v3/account")
    has_recorded_keys("spot account", account)
    assert decode(account, BinanceSpotAccountInfo).canTrade
    fees = decode(await ok(spot, "GET", "/sapi/v1/asset/tradeFee"), list[BinanceSpotTradeFee])
    assert [(f.symbol, f.makerCommission, f.takerCommission) for f in fees] == \
        [("BTCUSDT", "0.001", "0.001"), ("ETHUSDT", "0.001", "0.001")]
    placed = decode(await ok(spot, "POST", "/api/v3/order", {"symbol": "ETHUSDT", "side": "SELL", "type": "MARKET",
                                                           "quantity": "0.5"}), BinanceOrder)
    assert (placed.status.value, len(placed.fills or [])) == ("FILLED", 1)
    for path in ("/api/v3/allOrders", "/api/v3/openOrders"):
        decode(await ok(spot, "GET", path, {"symbol": "ETHUSDT"}), list[BinanceOrder])
    fills = decode(await ok(spot, "GET", "/api/v3/myTrades", {"symbol": "ETHUSDT"}), list[BinanceUserTrade])
    assert [(t.orderId, t.isBuyer, t.commissionAsset) for t in fills] == [(placed.orderId, False, "USDT")]
    depth = decode(await ok(spot, "GET", "/api/v3/depth", {"symbol": "ETHUSDT", "limit": 5}, signed=False),
                   BinanceDepth)
    assert len(depth.bids) == len(depth.asks) == 5
    trades = decode(await ok(spot, "GET", "/api/v3/trades", {"symbol": "ETHUSDT"}, signed=False), list[BinanceTrade])
    assert [(t.price, t.qty) for t in trades] == [(f.price, f.qty) for f in fills]  # our fill printed on the tape
    agg_trades = await ok(spot, "GET", "/api/v3/aggTrades", {"symbol": "ETHUSDT"}, signed=False)
    assert [t.a for t in decode(agg_trades, list[BinanceAggTrade])] == [t.id for t in trades]


async def test_futures_rest_payloads(futures) -> None:
    info = await ok(futures, "GET", "/fapi/v1/exchangeInfo", signed=False)
    has_recorded_keys("futures symbol", info["symbols"][0])
    assert [s.contractType for s in decode(info, BinanceFuturesExchangeInfo).symbols] == ["PERPETUAL", "PERPETUAL"]
    decode(await ok(futures, "GET", "/fapi/v2/account"), BinanceFuturesAccountInfo)
    assert decode(await ok(futures, "GET", "/fapi/v1/positionSide/dual"), BinanceFuturesDualSidePosition) == \
        BinanceFuturesDualSidePosition(dualSidePosition=False)
    configs = await ok(futures, "GET", "/fapi/v1/symbolConfig")
    has_recorded_keys("symbol config", configs[0])
    assert [(c.symbol, c.leverage) for c in decode(configs, list[BinanceFuturesSymbolConfig])] == \
        [("BTCUSDT", 10), ("ETHUSDT", 10)]
    rate = decode(await ok(futures, "GET", "/fapi/v1/commissionRate", {"symbol": "BTCUSDT"}),
                  BinanceFuturesCommissionRate)
    assert (rate.makerCommissionRate, rate.takerCommissionRate) == ("0.0002", "0.0005")
    assert decode(await ok(futures, "GET", "/fapi/v1/openAlgoOrders"), list[BinanceFuturesAlgoOrder]) == []
    decode(await ok(futures, "POST", "/fapi/v1/listenKey", signed=False), BinanceListenKey)

    order = await ok(futures, "POST", "/fapi/v1/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                         "quantity": "0.020"})
    has_recorded_keys("futures order", order)
    assert decode(order, BinanceOrder).status.value == "FILLED"
    trades = await ok(futures, "GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"})
    has_recorded_keys("futures trade", trades[0])
    assert [t.qty for t in decode(trades, list[BinanceUserTrade])] == ["0.020"]
    for version in ("v2", "v3"):
        risks = await ok(futures, "GET", f"/fapi/{version}/positionRisk")
        positions = decode(risks, list[BinanceFuturesPositionRisk])
        assert [(p.symbol, p.positionAmt) for p in positions if p.positionAmt != "0.000"] == [("BTCUSDT", "0.020")]
    has_recorded_keys("position risk v2", (await ok(futures, "GET", "/fapi/v2/positionRisk"))[0])
    account = decode(await ok(futures, "GET", "/fapi/v2/account"), BinanceFuturesAccountInfo)
    # position initial margin: 0.020 BTC x mark 50000 / leverage 10
    assert account.assets[0].asset == "USDT" and account.totalInitialMargin == "100.00000000"


async def test_user_data_and_stream_payloads(sim, session, spot, futures) -> None:
    spot_ws = await session.ws_connect(sim.env["SIM_BINANCE_SPOT_WS_API"])
    await spot_ws.send_json({"id": 1, "method": "session.logon", "params": spot.logon_params()})
    await spot_ws.send_json({"id": 2, "method": "userDataStream.subscribe"})
    assert [(await spot_ws.receive_json())["status"] for _ in range(2)] == [200, 200]
    listen_key = (await ok(futures, "POST", "/fapi/v1/listenKey", signed=False))["listenKey"]
    futures_ws = await session.ws_connect(f"{sim.env['SIM_BINANCE_FUTURES_WS_STREAM']}/ws?listenKey={listen_key}")
    streams = "btcusdt@trade/btcusdt@aggTrade/btcusdt@bookTicker/btcusdt@depth@100ms"
    spot_md = await session.ws_connect(f"{sim.env['SIM_BINANCE_SPOT_WS']}/stream?streams={streams}")
    futures_md = await session.ws_connect(f"{sim.env['SIM_BINANCE_FUTURES_WS']}/stream?streams=btcusdt@depth@100ms")

    await ok(spot, "POST", "/api/v3/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"})
    for _ in range(2):
        report = (await spot_ws.receive_json())["event"]
        has_recorded_keys("executionReport", report)
        decode(report, BinanceSpotOrderUpdateData)
    decode((await spot_ws.receive_json())["event"], BinanceSpotAccountUpdateMsg)

    await ok(futures, "POST", "/fapi/v1/order", {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET",
                                                 "quantity": "0.010"})
    for _ in range(2):
        update = await futures_ws.receive_json()
        if update["o"]["x"] == "TRADE":
            has_recorded_keys("ORDER_TRADE_UPDATE.o", update["o"])
        decode(update, BinanceFuturesOrderUpdateMsg)
    account_update = decode(await futures_ws.receive_json(), BinanceFuturesAccountUpdateMsg)
    assert [(p.s, p.pa) for p in account_update.a.P] == [("BTCUSDT", "-0.010")]

    await control(session, sim, "spot", "price", {"symbol": "BTCUSDT", "price": "50500"})
    await control(session, sim, "usdt_futures", "price", {"symbol": "BTCUSDT", "price": "50500"})
    seen: dict[str, Any] = {}
    while len(seen) < 4:
        message = await spot_md.receive_json()
        seen[message["stream"]] = message
    decode(seen["btcusdt@trade"], BinanceSpotTradeMsg)
    has_recorded_keys("spot trade", seen["btcusdt@trade"]["data"])
    decode(seen["btcusdt@aggTrade"], BinanceAggregatedTradeMsg)
    decode(seen["btcusdt@bookTicker"], BinanceQuoteMsg)
    decode(seen["btcusdt@depth@100ms"], BinanceOrderBookMsg)
    futures_depth = await futures_md.receive_json()
    has_recorded_keys("futures depthUpdate", futures_depth["data"])
    decode(futures_depth, BinanceOrderBookMsg)
    for ws in (spot_ws, futures_ws, spot_md, futures_md):
        await ws.close()
