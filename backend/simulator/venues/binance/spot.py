"""api.binance.com: ``/api/v3`` REST, ``/sapi/v1/asset/tradeFee``, the WebSocket API and market streams."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from backend.simulator.venues.binance import errors, payloads
from backend.simulator.venues.binance.market import BinanceMarket
from backend.simulator.venues.binance.orders import parse_new_order
from backend.simulator.venues.binance.rest import Call, Security, endpoint


def routes(market: BinanceMarket) -> list[web.RouteDef]:
    def rest(method: str, path: str, security: Security, handler: Any, action: errors.Action = "new") -> web.RouteDef:
        return web.route(method, path, endpoint(market.auth, "spot", security, handler, action))

    none, key, signed = Security.NONE, Security.API_KEY, Security.SIGNED
    return [
        rest("GET", "/api/v3/ping", none, lambda call: {}),
        rest("GET", "/api/v3/time", none, lambda call: {"serverTime": market.now_ms()}),
        rest("GET", "/api/v3/exchangeInfo", none, lambda call: exchange_info(market, call)),
        rest("GET", "/api/v3/depth", none, lambda call: depth(market, call)),
        rest("GET", "/api/v3/ticker/bookTicker", none, lambda call: book_ticker(market, call)),
        rest("GET", "/api/v3/klines", none, lambda call: klines(market, call)),
        rest("GET", "/api/v3/trades", none, lambda call: recent_trades(market, call, payloads.public_trade)),
        rest("GET", "/api/v3/aggTrades", none, lambda call: recent_trades(market, call, payloads.public_agg_trade)),
        rest("GET", "/sapi/v1/asset/tradeFee", signed, lambda call: trade_fees(market, call)),
        rest("GET", "/api/v3/account", signed, lambda call: account(market, call)),
        rest("POST", "/api/v3/order", signed, lambda call: new_order(market, call)),
        rest("GET", "/api/v3/order", signed, lambda call: query_order(market, call), "query"),
        rest("DELETE", "/api/v3/order", signed, lambda call: cancel_order(market, call), "cancel"),
        rest("GET", "/api/v3/openOrders", signed, lambda call: open_orders(market, call)),
        rest("DELETE", "/api/v3/openOrders", signed, lambda call: cancel_open_orders(market, call), "cancel"),
        rest("GET", "/api/v3/allOrders", signed, lambda call: all_orders(market, call)),
        rest("GET", "/api/v3/myTrades", signed, lambda call: my_trades(market, call)),
        rest("POST", "/api/v3/userDataStream", key, market.user.create_listen_key),
        rest("PUT", "/api/v3/userDataStream", key, market.user.keepalive_listen_key),
        rest("DELETE", "/api/v3/userDataStream", key, market.user.close_listen_key),
        web.get("/ws-api/v3", market.user.ws_api),
        web.get("/stream", market.streams.handle),
        web.get("/ws", market.streams.handle),
        web.get("/ws/{streams:.+}", ws_path(market)),
    ]


def ws_path(market: BinanceMarket) -> Any:
    """``/ws/<listenKey>`` is a user-data stream; anything else after ``/ws/`` names market streams."""

    async def handle(request: web.Request) -> web.StreamResponse:
        name = request.match_info["streams"]
        if market.listen_keys.account(name) is not None:
            return await market.user.listen_key_stream(request, name)
        return await market.streams.handle(request)

    return handle


def symbol_param(market: BinanceMarket, call: Call, required: bool = True) -> str | None:
    symbol = call.required("symbol") if required else call.get("symbol")
    if symbol is not None and symbol not in market.exchange.instruments:
        raise errors.bad_symbol()
    return symbol


def exchange_info(market: BinanceMarket, call: Call) -> dict[str, Any]:
    wanted: list[str]
    if call.get("symbol"):
        wanted = [call.required("symbol")]
    elif call.get("symbols"):
        wanted = [s.strip().strip('"') for s in call.required("symbols").strip("[]").split(",") if s.strip()]
    else:
        wanted = sorted(market.exchange.instruments)
    for symbol in wanted:
        if symbol not in market.exchange.instruments:
            raise errors.bad_symbol()
    return payloads.spot_exchange_info([market.instrument(s) for s in wanted], market.now_ms())


def depth(market: BinanceMarket, call: Call) -> dict[str, Any]:
    symbol = symbol_param(market, call)
    assert symbol is not None
    return market.streams.depth_snapshot(symbol, call.integer("limit") or 100)


def book_ticker(market: BinanceMarket, call: Call) -> Any:
    one = symbol_param(market, call, required=False)
    symbols = [one] if one else sorted(market.exchange.instruments)
    tickers = []
    for symbol in symbols:
        assert symbol is not None
        book = market.streams.depth_snapshot(symbol, 1)
        bid = book["bids"][0] if book["bids"] else ["0", "0"]
        ask = book["asks"][0] if book["asks"] else ["0", "0"]
        tickers.append({"symbol": symbol, "bidPrice": bid[0], "bidQty": bid[1], "askPrice": ask[0], "askQty": ask[1]})
    return tickers[0] if call.get("symbol") else tickers


def klines(market: BinanceMarket, call: Call) -> list[Any]:
    """No candle history is simulated: a valid symbol answers an empty list, as a fresh market would."""
    symbol_param(market, call)
    call.required("interval")
    return []


def recent_trades(market: BinanceMarket, call: Call, shape: Any) -> list[dict[str, Any]]:
    """The latest public trades (oldest first), at most ``limit`` (default 500, max 1000)."""
    symbol = symbol_param(market, call)
    assert symbol is not None
    instrument = market.instrument(symbol)
    limit = min(call.integer("limit") or 500, 1000)
    return [shape(t, payloads.price_places(instrument, market.futures), payloads.qty_places(instrument, market.futures))
            for t in market.exchange.recent_trades(symbol, limit)]


def trade_fees(market: BinanceMarket, call: Call) -> list[dict[str, str]]:
    symbol = symbol_param(market, call, required=False)
    fees = market.exchange.account(call.account_id).fees
    return [
        {"symbol": s, "makerCommission": str(fees.maker.normalize()), "takerCommission": str(fees.taker.normalize())}
        for s in ([symbol] if symbol else sorted(market.exchange.instruments))
    ]


def account(market: BinanceMarket, call: Call) -> dict[str, Any]:
    sim_account = market.exchange.account(call.account_id)
    fees = sim_account.fees
    return {
        "makerCommission": int(fees.maker * 10_000),
        "takerCommission": int(fees.taker * 10_000),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": payloads.fmt(fees.maker, 8),
            "taker": payloads.fmt(fees.taker, 8),
            "buyer": payloads.fmt(Decimal(0), 8),
            "seller": payloads.fmt(Decimal(0), 8),
        },
        "canTrade": True,
        "canWithdraw": True,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": market.now_ms(),
        "accountType": "SPOT",
        "balances": [
            {"asset": asset, "free": payloads.fmt(balance.free, 8), "locked": payloads.fmt(balance.locked, 8)}
            for asset, balance in sorted(sim_account.balances.items())
        ],
        "permissions": ["SPOT"],
        "uid": 1,
    }


def new_order(market: BinanceMarket, call: Call) -> dict[str, Any]:
    request = parse_new_order(call, futures=False, symbols=market.exchange.instruments)
    order = market.exchange.place_order(
        call.account_id, request.symbol, request.side, request.order_type, request.quantity,
        price=request.price, trigger_price=request.trigger_price, time_in_force=request.time_in_force,
        post_only=request.post_only, reduce_only=False, client_order_id=request.client_order_id,
    )
    return payloads.spot_new_order_result(order, _fills_of(market, call.account_id, order), market.now_ms())


def _fills_of(market: BinanceMarket, account_id: str | None, order: Any) -> list[Any]:
    """The fills of a just-placed order: the newest fills of its symbol (an unfilled order has none)."""
    if not order.filled_quantity:
        return []
    fills = market.exchange.fills(account_id, order.symbol)
    newest = len(fills)
    while newest and fills[newest - 1].order_id == order.order_id:
        newest -= 1
    return fills[newest:]


def _order_ref(call: Call) -> tuple[int | None, str | None]:
    order_id = call.integer("orderId")
    client_order_id = call.get("origClientOrderId")
    if order_id is None and client_order_id is None:
        raise errors.missing_parameter("orderId")
    return order_id, client_order_id


def query_order(market: BinanceMarket, call: Call) -> dict[str, Any]:
    symbol = symbol_param(market, call)
    order_id, client_order_id = _order_ref(call)
    order = market.exchange.get_order(call.account_id, symbol, order_id=order_id, client_order_id=client_order_id)
    return payloads.spot_order(order)


def cancel_order(market: BinanceMarket, call: Call) -> dict[str, Any]:
    symbol = symbol_param(market, call)
    order_id, client_order_id = _order_ref(call)
    cancel_id = call.get("newClientOrderId") or market.next_cancel_id()
    market.active_cancel_id = cancel_id
    try:
        order = market.exchange.cancel_order(call.account_id, symbol, order_id=order_id,
                                             client_order_id=client_order_id)
    finally:
        market.active_cancel_id = None
    return payloads.spot_cancel_result(order, cancel_id, market.now_ms())


def cancel_open_orders(market: BinanceMarket, call: Call) -> list[dict[str, Any]]:
    symbol = symbol_param(market, call)
    results = []
    for order in list(market.exchange.open_orders(call.account_id, symbol)):
        cancel_id = market.active_cancel_id = market.next_cancel_id()
        try:
            canceled = market.exchange.cancel_order(call.account_id, symbol, order_id=order.order_id)
        finally:
            market.active_cancel_id = None
        results.append(payloads.spot_cancel_result(canceled, cancel_id, market.now_ms()))
    if not results:
        raise errors.unknown_order("cancel")
    return results


def open_orders(market: BinanceMarket, call: Call) -> list[dict[str, Any]]:
    symbol = symbol_param(market, call, required=False)
    return [payloads.spot_order(o) for o in market.exchange.open_orders(call.account_id, symbol)]


def all_orders(market: BinanceMarket, call: Call) -> list[dict[str, Any]]:
    symbol = symbol_param(market, call)
    orders = market.exchange.order_history(call.account_id, symbol)
    from_id = call.integer("orderId")
    start, end = call.integer("startTime"), call.integer("endTime")
    selected = [
        o for o in orders
        if (from_id is None or o.order_id >= from_id)
        and (start is None or o.created_ms >= start)
        and (end is None or o.created_ms <= end)
    ]
    limit = min(call.integer("limit") or 500, 1000)
    return [payloads.spot_order(o) for o in selected[:limit]]


def my_trades(market: BinanceMarket, call: Call) -> list[dict[str, Any]]:
    symbol = symbol_param(market, call)
    return [payloads.spot_trade(f) for f in select_trades(market.exchange.fills(call.account_id, symbol), call)]


def select_trades(fills: list[Any], call: Call) -> list[Any]:
    """Binance's trade-list filters: ``orderId``, ``fromId``, ``startTime``/``endTime``, ``limit`` (max 1000)."""
    order_id, from_id = call.integer("orderId"), call.integer("fromId")
    start, end = call.integer("startTime"), call.integer("endTime")
    selected = [
        f for f in fills
        if (order_id is None or f.order_id == order_id)
        and (from_id is None or f.trade_id >= from_id)
        and (start is None or f.time_ms >= start)
        and (end is None or f.time_ms <= end)
    ]
    limit = min(call.integer("limit") or 500, 1000)
    return selected[-limit:] if from_id is None else selected[:limit]
