"""fapi.binance.com: USD-M ``/fapi`` REST, listenKey, the WebSocket API ``/ws-fapi/v1`` and market/user streams."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from backend.simulator.core.errors import SimError
from backend.simulator.venues.binance import algo, errors, payloads, spot
from backend.simulator.venues.binance.errors import BinanceApiError
from backend.simulator.venues.binance.market import BinanceMarket
from backend.simulator.venues.binance.orders import decimal_param, parse_new_order
from backend.simulator.venues.binance.rest import Call, Security, endpoint

MAX_NOTIONAL = "1000000"


def routes(market: BinanceMarket) -> list[web.RouteDef]:
    def rest(method: str, path: str, security: Security, handler: Any, action: errors.Action = "new") -> web.RouteDef:
        return web.route(method, path, endpoint(market.auth, "usdt_futures", security, handler, action))

    none, key, signed = Security.NONE, Security.API_KEY, Security.SIGNED
    user = market.user
    return [
        rest("GET", "/fapi/v1/ping", none, lambda call: {}),
        rest("GET", "/fapi/v1/time", none, lambda call: {"serverTime": market.now_ms()}),
        rest("GET", "/fapi/v1/exchangeInfo", none, lambda call: exchange_info(market)),
        rest("GET", "/fapi/v1/depth", none, lambda call: spot.depth(market, call)),
        rest("GET", "/fapi/v1/ticker/bookTicker", none, lambda call: spot.book_ticker(market, call)),
        rest("GET", "/fapi/v1/klines", none, lambda call: spot.klines(market, call)),
        rest("GET", "/fapi/v1/trades", none, lambda call: spot.recent_trades(market, call, payloads.public_trade)),
        rest("GET", "/fapi/v1/aggTrades", none,
             lambda call: spot.recent_trades(market, call, payloads.public_agg_trade)),
        rest("GET", "/fapi/v1/commissionRate", signed, lambda call: commission_rate(market, call)),
        rest("GET", "/fapi/v2/account", signed, lambda call: account(market, call)),
        rest("GET", "/fapi/v3/account", signed, lambda call: account(market, call)),
        rest("GET", "/fapi/v2/balance", signed, lambda call: balances(market, call)),
        rest("GET", "/fapi/v3/balance", signed, lambda call: balances(market, call)),
        rest("GET", "/fapi/v1/symbolConfig", signed, lambda call: symbol_config(market, call)),
        rest("GET", "/fapi/v1/positionSide/dual", signed, lambda call: {"dualSidePosition": False}),
        rest("POST", "/fapi/v1/positionSide/dual", signed, lambda call: set_position_mode(call)),
        rest("GET", "/fapi/v2/positionRisk", signed, lambda call: position_risk(market, call, every_symbol=True)),
        rest("GET", "/fapi/v3/positionRisk", signed, lambda call: position_risk(market, call, every_symbol=False)),
        rest("POST", "/fapi/v1/leverage", signed, lambda call: set_leverage(market, call)),
        rest("POST", "/fapi/v1/marginType", signed, lambda call: set_margin_type(market, call)),
        rest("POST", "/fapi/v1/order", signed, lambda call: new_order(market, call)),
        rest("GET", "/fapi/v1/order", signed, lambda call: query_order(market, call), "query"),
        rest("DELETE", "/fapi/v1/order", signed, lambda call: cancel_order(market, call), "cancel"),
        rest("PUT", "/fapi/v1/order", signed, lambda call: amend_order(market, call), "amend"),
        rest("GET", "/fapi/v1/openOrders", signed, lambda call: open_orders(market, call)),
        rest("DELETE", "/fapi/v1/allOpenOrders", signed, lambda call: cancel_all(market, call), "cancel"),
        rest("DELETE", "/fapi/v1/batchOrders", signed, lambda call: cancel_batch(market, call), "cancel"),
        rest("GET", "/fapi/v1/allOrders", signed, lambda call: all_orders(market, call)),
        rest("GET", "/fapi/v1/userTrades", signed, lambda call: user_trades(market, call)),
        rest("POST", "/fapi/v1/algoOrder", signed, lambda call: new_algo_order(market, call)),
        rest("GET", "/fapi/v1/algoOrder", signed, lambda call: query_algo_order(market, call), "query"),
        rest("DELETE", "/fapi/v1/algoOrder", signed, lambda call: cancel_algo_order(market, call), "cancel"),
        rest("GET", "/fapi/v1/openAlgoOrders", signed, lambda call: algo_orders(market, call, open_only=True)),
        rest("GET", "/fapi/v1/allAlgoOrders", signed, lambda call: algo_orders(market, call, open_only=False)),
        rest("DELETE", "/fapi/v1/algoOpenOrders", signed, lambda call: cancel_algo_orders(market, call), "cancel"),
        rest("POST", "/fapi/v1/listenKey", key, user.create_listen_key),
        rest("PUT", "/fapi/v1/listenKey", key, user.keepalive_listen_key),
        rest("DELETE", "/fapi/v1/listenKey", key, user.close_listen_key),
        web.get("/ws-fapi/v1", user.ws_api),
        web.get("/stream", market.streams.handle),
        web.get("/ws", _ws_root(market)),
        web.get("/private/ws", user.listen_key_stream),
        web.get("/ws/{streams:.+}", spot.ws_path(market)),
    ]


def _ws_root(market: BinanceMarket) -> Any:
    """``/ws?listenKey=`` is the user stream (how NautilusTrader connects); bare ``/ws`` is a market stream."""

    async def handle(request: web.Request) -> web.StreamResponse:
        if "listenKey" in request.query:
            return await market.user.listen_key_stream(request)
        return await market.streams.handle(request)

    return handle


def exchange_info(market: BinanceMarket) -> dict[str, Any]:
    instruments = [market.instrument(s) for s in sorted(market.exchange.instruments)]
    assets = sorted({i.quote_asset for i in instruments})
    return payloads.futures_exchange_info(instruments, market.now_ms(), assets)


def commission_rate(market: BinanceMarket, call: Call) -> dict[str, str]:
    symbol = spot.symbol_param(market, call)
    fees = market.exchange.account(call.account_id).fees
    return {
        "symbol": symbol,
        "makerCommissionRate": str(fees.maker.normalize()),
        "takerCommissionRate": str(fees.taker.normalize()),
        "rpiCommissionRate": "0",
    }


def symbol_config(market: BinanceMarket, call: Call) -> list[dict[str, Any]]:
    symbol = spot.symbol_param(market, call, required=False)
    leverage = market.exchange.account(call.account_id).leverage
    return [
        {"symbol": s, "marginType": "CROSSED", "isAutoAddMargin": False, "leverage": leverage[s],
         "maxNotionalValue": MAX_NOTIONAL}
        for s in ([symbol] if symbol else sorted(market.exchange.instruments))
    ]


def set_position_mode(call: Call) -> dict[str, Any]:
    dual = call.required("dualSidePosition").lower()
    if dual == "false":
        raise BinanceApiError(-4059, "No need to change position side.")
    raise errors.not_simulated("Hedge mode (dualSidePosition=true) is not simulated: positions are one-way.")


def set_leverage(market: BinanceMarket, call: Call) -> dict[str, Any]:
    symbol = spot.symbol_param(market, call)
    assert symbol is not None
    leverage = call.integer("leverage")
    if leverage is None:
        raise errors.missing_parameter("leverage")
    if not 1 <= leverage <= 125:
        raise BinanceApiError(-4028, f"Leverage {leverage} is not valid")
    market.exchange.set_leverage(call.account_id, symbol, leverage)
    return {"leverage": leverage, "maxNotionalValue": MAX_NOTIONAL, "symbol": symbol}


def set_margin_type(market: BinanceMarket, call: Call) -> dict[str, Any]:
    spot.symbol_param(market, call)
    margin_type = call.required("marginType")
    if margin_type == "CROSSED":
        raise BinanceApiError(-4046, "No need to change margin type.")
    raise errors.not_simulated("ISOLATED margin is not simulated: every position uses cross margin.")


def account(market: BinanceMarket, call: Call) -> dict[str, Any]:
    sim_account = market.exchange.account(call.account_id)
    positions = _all_positions(market, call.account_id)
    return payloads.futures_account(sim_account, positions, {s: market.instrument(s) for s in positions},
                                    market.now_ms())


def _all_positions(market: BinanceMarket, account_id: str | None) -> dict[str, Any]:
    return {s: market.exchange.position(account_id, s) for s in sorted(market.exchange.instruments)}


def balances(market: BinanceMarket, call: Call) -> list[dict[str, Any]]:
    snapshot = account(market, call)
    return [
        {"accountAlias": "SimFutures", "asset": a["asset"], "balance": a["walletBalance"],
         "crossWalletBalance": a["crossWalletBalance"], "crossUnPnl": a["crossUnPnl"],
         "availableBalance": a["availableBalance"], "maxWithdrawAmount": a["maxWithdrawAmount"],
         "marginAvailable": True, "updateTime": a["updateTime"]}
        for a in snapshot["assets"]
    ]


def position_risk(market: BinanceMarket, call: Call, every_symbol: bool) -> list[dict[str, Any]]:
    """v2 lists every symbol (with leverage settings); v3 only symbols with a position or open orders."""
    symbol = spot.symbol_param(market, call, required=False)
    positions = _all_positions(market, call.account_id)
    with_orders = {o.symbol for o in market.exchange.open_orders(call.account_id)}
    return [
        payloads.position_risk(position, market.instrument(s), v2=every_symbol)
        for s, position in positions.items()
        if (symbol is None or s == symbol) and (every_symbol or position.quantity != 0 or s in with_orders)
    ]


def new_order(market: BinanceMarket, call: Call) -> dict[str, Any]:
    request = parse_new_order(call, futures=True, symbols=market.exchange.instruments)
    order = market.exchange.place_order(
        call.account_id, request.symbol, request.side, request.order_type, request.quantity,
        price=request.price, trigger_price=request.trigger_price, time_in_force=request.time_in_force,
        post_only=request.post_only, reduce_only=request.reduce_only, client_order_id=request.client_order_id,
    )
    return payloads.futures_order(order, market.instrument(order.symbol))


def _regular_order(market: BinanceMarket, call: Call, action: errors.Action) -> Any:
    """The order a regular endpoint names; an untriggered stop exists only as an algo order there."""
    symbol = spot.symbol_param(market, call)
    order_id, client_order_id = spot._order_ref(call)
    order = market.exchange.get_order(call.account_id, symbol, order_id=order_id, client_order_id=client_order_id)
    if algo.is_pending(order):
        raise errors.unknown_order(action)
    return order


def query_order(market: BinanceMarket, call: Call) -> dict[str, Any]:
    order = _regular_order(market, call, "query")
    return payloads.futures_order(order, market.instrument(order.symbol))


def cancel_order(market: BinanceMarket, call: Call) -> dict[str, Any]:
    order = _regular_order(market, call, "cancel")
    order = market.exchange.cancel_order(call.account_id, order.symbol, order_id=order.order_id)
    return payloads.futures_order(order, market.instrument(order.symbol))


def amend_order(market: BinanceMarket, call: Call) -> dict[str, Any]:
    symbol = spot.symbol_param(market, call)
    order_id, client_order_id = spot._order_ref(call)
    call.required("side")
    quantity = decimal_param(call, "quantity", required=True)
    price = decimal_param(call, "price", required=True)
    order = market.exchange.amend_order(call.account_id, symbol, order_id=order_id, client_order_id=client_order_id,
                                        quantity=quantity, price=price)
    return payloads.futures_order(order, market.instrument(order.symbol))


def open_orders(market: BinanceMarket, call: Call) -> list[dict[str, Any]]:
    symbol = spot.symbol_param(market, call, required=False)
    return [payloads.futures_order(o, market.instrument(o.symbol))
            for o in market.exchange.open_orders(call.account_id, symbol) if not algo.is_pending(o)]


def cancel_all(market: BinanceMarket, call: Call) -> dict[str, Any]:
    symbol = spot.symbol_param(market, call)
    for order in market.exchange.open_orders(call.account_id, symbol):
        if not algo.is_pending(order):
            market.exchange.cancel_order(call.account_id, order.symbol, order_id=order.order_id)
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


def cancel_batch(market: BinanceMarket, call: Call) -> list[dict[str, Any]]:
    """``DELETE /fapi/v1/batchOrders``: per-item results, an order or ``{"code", "msg"}``, in request order."""
    symbol = spot.symbol_param(market, call)
    ids = _id_list(call.get("orderIdList"))
    client_ids = _id_list(call.get("origClientOrderIdList"))
    if not ids and not client_ids:
        raise errors.missing_parameter("orderIdList")
    results: list[dict[str, Any]] = []
    for ref in ids or client_ids:
        try:
            order = market.exchange.cancel_order(
                call.account_id, symbol,
                order_id=int(ref) if ids else None, client_order_id=None if ids else str(ref),
            )
        except SimError as exc:
            results.append(errors.from_sim_error(exc, "usdt_futures", "cancel").body())
            continue
        results.append(payloads.futures_order(order, market.instrument(order.symbol)))
    return results


def _id_list(raw: str | None) -> list[str]:
    if not raw:
        return []
    return [item.strip().strip('"') for item in raw.strip("[]").split(",") if item.strip()]


def all_orders(market: BinanceMarket, call: Call) -> list[dict[str, Any]]:
    symbol = spot.symbol_param(market, call)
    orders = market.exchange.order_history(call.account_id, symbol)
    from_id = call.integer("orderId")
    start, end = call.integer("startTime"), call.integer("endTime")
    selected = [
        o for o in orders
        if not algo.is_pending(o)
        and (from_id is None or o.order_id >= from_id)
        and (start is None or o.created_ms >= start)
        and (end is None or o.created_ms <= end)
    ]
    limit = min(call.integer("limit") or 500, 1000)
    return [payloads.futures_order(o, market.instrument(o.symbol)) for o in selected[:limit]]


def user_trades(market: BinanceMarket, call: Call) -> list[dict[str, Any]]:
    symbol = spot.symbol_param(market, call)
    instrument = market.instrument(symbol)
    return [payloads.futures_trade(f, instrument)
            for f in spot.select_trades(market.exchange.fills(call.account_id, symbol), call)]


def new_algo_order(market: BinanceMarket, call: Call) -> dict[str, Any]:
    order = market.exchange.place_order(call.account_id, **algo.parse_new(call, market.exchange.instruments))
    return payloads.futures_algo_order(order, market.instrument(order.symbol))


def _algo_order(market: BinanceMarket, call: Call, action: errors.Action) -> Any:
    """The conditional order ``algoId`` / ``clientAlgoId`` names (the API takes no symbol)."""
    order_id, client_order_id = algo.order_reference(call)
    for symbol in market.exchange.instruments:
        try:
            order = market.exchange.get_order(call.account_id, symbol, order_id=order_id,
                                              client_order_id=client_order_id)
        except SimError:
            continue
        if order.is_stop:
            return order
    raise errors.unknown_order(action)


def query_algo_order(market: BinanceMarket, call: Call) -> dict[str, Any]:
    order = _algo_order(market, call, "query")
    return payloads.futures_algo_order(order, market.instrument(order.symbol))


def cancel_algo_order(market: BinanceMarket, call: Call) -> dict[str, Any]:
    """A triggered stop is a regular order by now: cancelling it needs ``DELETE /fapi/v1/order`` (-2011 here)."""
    order = _algo_order(market, call, "cancel")
    if not algo.is_pending(order):
        raise errors.unknown_order("cancel")
    market.exchange.cancel_order(call.account_id, order.symbol, order_id=order.order_id)
    return {"algoId": algo.algo_id(order), "clientAlgoId": order.client_order_id or "", "code": "200",
            "msg": "success"}


def algo_orders(market: BinanceMarket, call: Call, open_only: bool) -> list[dict[str, Any]]:
    symbol = spot.symbol_param(market, call, required=not open_only)
    orders = (market.exchange.open_orders(call.account_id, symbol) if open_only
              else market.exchange.order_history(call.account_id, symbol))
    return [payloads.futures_algo_order(o, market.instrument(o.symbol))
            for o in orders if o.is_stop and (algo.is_pending(o) or not open_only)]


def cancel_algo_orders(market: BinanceMarket, call: Call) -> dict[str, Any]:
    symbol = spot.symbol_param(market, call)
    for order in market.exchange.open_orders(call.account_id, symbol):
        if algo.is_pending(order):
            market.exchange.cancel_order(call.account_id, order.symbol, order_id=order.order_id)
    return {"code": 200, "msg": "The operation of cancel all open order is done."}
