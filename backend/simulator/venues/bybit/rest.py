"""Bybit v5 REST endpoints: the market data, account, position and order calls NautilusTrader 1.231.0 makes.

Every answer is the v5 envelope ``{"retCode", "retMsg", "result", "retExtInfo", "time"}`` with HTTP 200, errors
included. Private endpoints check the ``X-BAPI-*`` signature headers over the raw query string (GET) or raw body
(POST). Lists are newest first, ``limit`` is honoured and everything fits one page (``nextPageCursor`` is empty).
Klines are empty: the simulator keeps no candle history.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from backend.simulator.core.errors import SimError, VenueError
from backend.simulator.core.orders import SimOrder
from backend.simulator.core.rest import rest_endpoint
from backend.simulator.venues.bybit import errors, payloads
from backend.simulator.venues.bybit.payloads import Category
from backend.simulator.venues.bybit.venue import BybitVenue, order_ref

Params = Mapping[str, Any]
Handler = Callable[[BybitVenue, str, Params], Any]
DEFAULT_LIST_LIMIT = 20


def add_routes(app: web.Application, venue: BybitVenue, routes: Mapping[str, tuple[str, bool, Handler]] | None = None) -> None:
    for path, (method, private, handler) in (ROUTES if routes is None else routes).items():
        app.router.add_route(method, path, _endpoint(venue, method, private, handler))


def _endpoint(
    venue: BybitVenue, method: str, private: bool, handler: Handler
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def run(request: web.Request) -> Any:
        payload = request.query_string if method == "GET" else await request.text()
        account_id = ""
        if private:
            account_id = venue.auth.verify_rest(request.headers, payload).account_id
        params = dict(request.query) if method == "GET" else _json_body(payload)
        return handler(venue, account_id, params)

    def answer(result: Any) -> web.Response:
        return web.json_response(payloads.envelope(result, venue.now_ms()))

    def refuse(error: VenueError) -> web.Response:  # Bybit answers refusals with HTTP 200 and a retCode
        return web.json_response(payloads.envelope({}, venue.now_ms(), int(error.code), error.msg))

    return rest_endpoint(run, answer, refuse, lambda error: errors.from_sim_error(error, "linear"))


def _json_body(body: str) -> dict[str, Any]:
    try:
        parsed = json.loads(body) if body else {}
    except json.JSONDecodeError:
        raise errors.parameter_error("request body is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise errors.parameter_error("request body must be a JSON object")
    return parsed


def _limit(params: Params, maximum: int, default: int = DEFAULT_LIST_LIMIT) -> int:
    raw = params.get("limit")
    if raw in (None, ""):
        return default
    try:
        limit = int(str(raw))
    except ValueError:
        raise errors.parameter_error(f"limit must be an integer, got {raw!r}") from None
    if not 1 <= limit <= maximum:
        raise errors.parameter_error(f"limit must be between 1 and {maximum}, got {limit}")
    return limit


def _category(venue: BybitVenue, params: Params) -> Category:
    category = params.get("category")
    venue.exchange(category)
    return category  # type: ignore[return-value]


def _symbols(venue: BybitVenue, category: Category, params: Params, require_filter: bool) -> list[str]:
    """The symbols a list query covers: ``symbol`` alone, or all (linear needs ``symbol``, ``settleCoin`` or
    ``baseCoin``, like the real venue)."""
    exchange = venue.exchanges[category]
    symbol = params.get("symbol")
    if symbol:
        return [venue.instrument(category, symbol).symbol]
    settle, base = params.get("settleCoin"), params.get("baseCoin")
    if category == "linear" and require_filter and not settle and not base:
        raise errors.parameter_error("Missing some parameters that must be filled in, symbol or settleCoin or baseCoin")
    return [
        s
        for s, i in exchange.instruments.items()
        if (not settle or i.settlement_asset == settle) and (not base or i.base_asset == base)
    ]


# -- market ---------------------------------------------------------------------------------------------------------


def server_time(venue: BybitVenue, _account: str, _params: Params) -> dict[str, str]:
    now = venue.now_ms()
    return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}


def instruments_info(venue: BybitVenue, _account: str, params: Params) -> dict[str, Any]:
    category = _category(venue, params)
    status = params.get("status")
    items = []
    if status in (None, "", "Trading"):
        build = payloads.spot_instrument if category == "spot" else payloads.linear_instrument
        items = [build(venue.exchanges[category].instruments[s]) for s in _symbols(venue, category, params, False)]
    return {"category": category, "list": items, "nextPageCursor": ""}


def tickers(venue: BybitVenue, _account: str, params: Params) -> dict[str, Any]:
    category = _category(venue, params)
    items = [venue.ticker_item(category, s) for s in _symbols(venue, category, params, False)]
    return {"category": category, "list": items}


def orderbook(venue: BybitVenue, _account: str, params: Params) -> dict[str, Any]:
    category = _category(venue, params)
    symbol = venue.instrument(category, params.get("symbol")).symbol
    depth = _limit(params, 200 if category == "spot" else 500, default=1 if category == "spot" else 25)
    book = venue.exchanges[category].book(symbol)
    return {
        "s": symbol,
        "b": payloads.book_levels(book.bids[:depth]),
        "a": payloads.book_levels(book.asks[:depth]),
        "ts": book.time_ms,
        "u": book.update_id,
        "seq": book.update_id,
        "cts": book.time_ms,
    }


def recent_trades(venue: BybitVenue, _account: str, params: Params) -> dict[str, Any]:
    category = _category(venue, params)
    symbol = venue.instrument(category, params.get("symbol")).symbol
    limit = _limit(params, 60 if category == "spot" else 1000, default=60 if category == "spot" else 500)
    trades = reversed(venue.exchanges[category].recent_trades(symbol, limit))
    items = [
        {
            "execId": payloads.venue_id(category, t.trade_id),
            "symbol": t.symbol,
            "price": payloads.num(t.price),
            "size": payloads.num(t.quantity),
            "side": payloads.SIDES[t.side],
            "time": str(t.time_ms),
            "isBlockTrade": False,
            "isRPITrade": False,
            "seq": str(t.trade_id),
        }
        for t in trades
    ]
    return {"category": category, "list": items}


def klines(venue: BybitVenue, _account: str, params: Params) -> dict[str, Any]:
    category = _category(venue, params)
    symbol = venue.instrument(category, params.get("symbol")).symbol
    return {"category": category, "symbol": symbol, "list": []}


# -- account --------------------------------------------------------------------------------------------------------


def fee_rate(venue: BybitVenue, _account: str, params: Params) -> dict[str, Any]:
    category = _category(venue, params)
    exchange = venue.exchanges[category]
    return {"list": [payloads.fee_rate(s, exchange.fees) for s in _symbols(venue, category, params, False)]}


def wallet_balance(venue: BybitVenue, account_id: str, params: Params) -> dict[str, Any]:
    if params.get("accountType") != "UNIFIED":
        raise errors.parameter_error(f"accountType only support UNIFIED, got {params.get('accountType')!r}")
    coins = frozenset(c for c in str(params.get("coin") or "").split(",") if c) or None
    return {"list": [venue.wallet_item(account_id, coins)]}


def account_info(venue: BybitVenue, _account: str, _params: Params) -> dict[str, Any]:
    return {
        "unifiedMarginStatus": 5,
        "marginMode": "REGULAR_MARGIN",
        "isMasterTrader": False,
        "spotHedgingStatus": "OFF",
        "updatedTime": str(venue.now_ms()),
        "dcpStatus": "OFF",
        "timeWindow": 10,
        "smpGroup": 0,
    }


def query_api_key(venue: BybitVenue, account_id: str, _params: Params) -> dict[str, Any]:
    return {
        "id": "1",
        "note": f"simulator key for {account_id}",
        "apiKey": "",
        "readOnly": 0,
        "secret": "",
        "permissions": {
            "ContractTrade": ["Order", "Position"],
            "Spot": ["SpotTrade"],
            "Wallet": ["AccountTransfer"],
            "Options": [],
            "Derivatives": [],
            "Exchange": [],
            "CopyTrading": [],
            "BlockTrade": [],
            "NFT": [],
            "Affiliate": [],
        },
        "ips": ["*"],
        "type": 1,
        "deadlineDay": -1,
        "expiredAt": "",
        "createdAt": "2024-01-01T00:00:00Z",
        "unified": 0,
        "uta": 1,
        "userID": 1,
        "inviterID": 0,
        "vipLevel": "No VIP",
        "mktMakerLevel": "0",
        "affiliateID": 0,
        "rsaPublicKey": "",
        "isMaster": True,
        "parentUid": "0",
        "kycLevel": "LEVEL_1",
        "kycRegion": "",
    }


def set_margin_mode(venue: BybitVenue, _account: str, params: Params) -> dict[str, Any]:
    mode = params.get("setMarginMode")
    if mode != "REGULAR_MARGIN":
        raise errors.parameter_error(f"setMarginMode {mode!r} is not supported by the simulator (REGULAR_MARGIN only)")
    return {"reasons": []}


# -- positions ------------------------------------------------------------------------------------------------------


def position_list(venue: BybitVenue, account_id: str, params: Params) -> dict[str, Any]:
    category = params.get("category")
    if category != "linear":
        raise errors.parameter_error(f"category only support linear, got {category!r}")
    symbols = _symbols(venue, "linear", params, True)
    limit = _limit(params, 200)
    exchange = venue.exchanges["linear"]
    if params.get("symbol"):
        chosen = symbols
    else:
        chosen = [s for s in symbols if exchange.position(account_id, s).quantity != 0]
    items = [venue.position_item(account_id, s) for s in chosen][:limit]
    return {"category": "linear", "list": items, "nextPageCursor": ""}


def set_leverage(venue: BybitVenue, account_id: str, params: Params) -> dict[str, Any]:
    if params.get("category") != "linear":
        raise errors.parameter_error(f"category only support linear, got {params.get('category')!r}")
    symbol = venue.instrument("linear", params.get("symbol")).symbol
    buy, sell = params.get("buyLeverage"), params.get("sellLeverage")
    if buy != sell:
        raise errors.parameter_error("buyLeverage must equal sellLeverage in one-way mode")
    try:
        leverage = int(str(buy))
    except ValueError:
        raise errors.parameter_error(f"buyLeverage must be an integer, got {buy!r}") from None
    try:
        venue.exchanges["linear"].set_leverage(account_id, symbol, leverage)
    except SimError as error:
        raise errors.from_sim_error(error, "linear") from None
    return {}


def switch_mode(venue: BybitVenue, _account: str, params: Params) -> dict[str, Any]:
    if str(params.get("mode")) != "0":
        raise errors.parameter_error("only one-way mode (mode=0) is supported by the simulator")
    return {}


# -- orders ---------------------------------------------------------------------------------------------------------


def _order_filter(category: Category, params: Params) -> Callable[[SimOrder], bool]:
    order_filter = params.get("orderFilter") or ("Order" if category == "spot" else "")
    if order_filter not in ("", "Order", "StopOrder", "tpslOrder", "OcoOrder", "BidirectionalTpslOrder"):
        raise errors.parameter_error(f"orderFilter {order_filter!r} is invalid")
    order_id, link_id = params.get("orderId"), params.get("orderLinkId")

    def keep(order: SimOrder) -> bool:
        if order_id and payloads.venue_id(category, order.order_id) != order_id:
            return False
        if link_id and order.client_order_id != link_id:
            return False
        if order_filter == "Order":
            return not order.is_stop
        if order_filter == "StopOrder":
            return order.is_stop
        return order_filter == ""

    return keep


def _orders(venue: BybitVenue, account_id: str, params: Params, open_only: bool) -> dict[str, Any]:
    category = _category(venue, params)
    symbols = _symbols(venue, category, params, True)
    keep = _order_filter(category, params)
    by_id = bool(params.get("orderId") or params.get("orderLinkId"))
    exchange = venue.exchanges[category]
    chosen = [
        order
        for symbol in symbols
        for order in exchange.order_history(account_id, symbol)
        if keep(order) and (by_id or order.is_open == open_only)
    ]
    chosen.sort(key=lambda o: (o.created_ms, o.order_id), reverse=True)
    items = [venue.order_item(category, o, "CancelByUser" if o.status == "CANCELED" else "UNKNOWN") for o in chosen]
    return {"category": category, "list": items[: _limit(params, 50)], "nextPageCursor": ""}


def open_orders(venue: BybitVenue, account_id: str, params: Params) -> dict[str, Any]:
    """``/v5/order/realtime``: open orders; a query by ``orderId``/``orderLinkId`` also finds closed ones."""
    return _orders(venue, account_id, params, open_only=True)


def order_history(venue: BybitVenue, account_id: str, params: Params) -> dict[str, Any]:
    """``/v5/order/history``: closed orders (filled, cancelled), or the one named by ``orderId``/``orderLinkId``."""
    return _orders(venue, account_id, params, open_only=False)


def executions(venue: BybitVenue, account_id: str, params: Params) -> dict[str, Any]:
    category = _category(venue, params)
    symbols = _symbols(venue, category, params, False)
    exchange = venue.exchanges[category]
    order_id, link_id = params.get("orderId"), params.get("orderLinkId")
    items = []
    for symbol in symbols:
        orders = {o.order_id: o for o in exchange.order_history(account_id, symbol)}
        for fill in exchange.fills(account_id, symbol):
            if order_id and payloads.venue_id(category, fill.order_id) != order_id:
                continue
            if link_id and fill.client_order_id != link_id:
                continue
            items.append((fill, orders[fill.order_id]))
    exec_type = params.get("execType")
    rows = [] if exec_type not in (None, "", "Trade") else [
        (fill.time_ms, 0, fill.trade_id, lambda f=fill, o=order: venue.execution_item(category, f, o))
        for fill, order in items]
    schedule = exchange.funding
    if schedule is not None and exec_type in (None, "", "Funding") and not order_id and not link_id:
        rows.extend((p.time_ms, 1, p.funding_id, lambda p=p: venue.funding_item(p))  # after trades of that ms
                    for symbol in symbols for p in schedule.payments(account_id, symbol))
    rows.sort(key=lambda row: row[:3], reverse=True)
    limit = _limit(params, 100, default=50)
    return {"category": category, "list": [row[3]() for row in rows[:limit]], "nextPageCursor": ""}


def create_order(venue: BybitVenue, account_id: str, params: Params) -> dict[str, str]:
    return venue.place_order(account_id, params)


def amend_order(venue: BybitVenue, account_id: str, params: Params) -> dict[str, str]:
    return venue.amend_order(account_id, params)


def cancel_order(venue: BybitVenue, account_id: str, params: Params) -> dict[str, str]:
    return venue.cancel_order(account_id, params)


def cancel_all(venue: BybitVenue, account_id: str, params: Params) -> dict[str, Any]:
    category = _category(venue, params)
    exchange = venue.exchanges[category]
    cancelled = []
    for symbol in _symbols(venue, category, params, True):
        cancelled.extend(exchange.cancel_all(account_id, symbol))
    return {
        "list": [order_ref(category, o) for o in cancelled],
        "success": "1",
    }


ROUTES: dict[str, tuple[str, bool, Handler]] = {
    "/v5/market/time": ("GET", False, server_time),
    "/v5/market/instruments-info": ("GET", False, instruments_info),
    "/v5/market/tickers": ("GET", False, tickers),
    "/v5/market/orderbook": ("GET", False, orderbook),
    "/v5/market/recent-trade": ("GET", False, recent_trades),
    "/v5/market/kline": ("GET", False, klines),
    "/v5/account/fee-rate": ("GET", True, fee_rate),
    "/v5/account/wallet-balance": ("GET", True, wallet_balance),
    "/v5/account/info": ("GET", True, account_info),
    "/v5/account/set-margin-mode": ("POST", True, set_margin_mode),
    "/v5/user/query-api": ("GET", True, query_api_key),
    "/v5/position/list": ("GET", True, position_list),
    "/v5/position/set-leverage": ("POST", True, set_leverage),
    "/v5/position/switch-mode": ("POST", True, switch_mode),
    "/v5/order/realtime": ("GET", True, open_orders),
    "/v5/order/history": ("GET", True, order_history),
    "/v5/execution/list": ("GET", True, executions),
    "/v5/order/create": ("POST", True, create_order),
    "/v5/order/amend": ("POST", True, amend_order),
    "/v5/order/cancel": ("POST", True, cancel_order),
    "/v5/order/cancel-all": ("POST", True, cancel_all),
}
