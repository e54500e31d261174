"""Pure conversions from core snapshots to Binance JSON payloads (dicts), spot and USD-M futures.

Shapes follow the real API (key sets compared with NautilusTrader's recorded Binance payloads). Decimals go out as
strings: spot pads prices and quantities to 8 places like api.binance.com; futures use the instrument's tick and
step precision like fapi.binance.com. Nothing here does I/O or mutates the core.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from backend.simulator.venues.binance import algo

SPOT_PLACES = 8
ASSET_PLACES = 8
ZERO = Decimal(0)


def fmt(value: Decimal | None, places: int) -> str:
    """``value`` with exactly ``places`` decimals (``None`` -> zero), never in exponent notation."""
    return f"{(value if value is not None else ZERO):.{places}f}"


def places_of(increment: Decimal) -> int:
    return max(0, -increment.normalize().as_tuple().exponent)


def price_places(instrument: Any, futures: bool) -> int:
    """Decimals of prices on the wire: 8 on spot, the tick's on USD-M."""
    return places_of(instrument.tick_size) if futures else SPOT_PLACES


def qty_places(instrument: Any, futures: bool) -> int:
    return places_of(instrument.lot_size) if futures else SPOT_PLACES


# -- exchange info -------------------------------------------------------------------------------------------------

SPOT_RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
]
FUTURES_RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
    {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
]
SPOT_ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT",
                    "TAKE_PROFIT_LIMIT"]
FUTURES_ORDER_TYPES = ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET",
                       "TRAILING_STOP_MARKET"]
STP_MODES = ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"]


def spot_symbol_info(instrument: Any) -> dict[str, Any]:
    return {
        "symbol": instrument.symbol,
        "status": "TRADING",
        "baseAsset": instrument.base_asset,
        "baseAssetPrecision": SPOT_PLACES,
        "quoteAsset": instrument.quote_asset,
        "quotePrecision": SPOT_PLACES,
        "quoteAssetPrecision": SPOT_PLACES,
        "baseCommissionPrecision": SPOT_PLACES,
        "quoteCommissionPrecision": SPOT_PLACES,
        "orderTypes": SPOT_ORDER_TYPES,
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fmt(instrument.tick_size, SPOT_PLACES),
                "maxPrice": fmt(Decimal("1000000"), SPOT_PLACES),
                "tickSize": fmt(instrument.tick_size, SPOT_PLACES),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": fmt(instrument.min_quantity, SPOT_PLACES),
                "maxQty": fmt(instrument.max_quantity, SPOT_PLACES),
                "stepSize": fmt(instrument.lot_size, SPOT_PLACES),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": fmt(instrument.min_notional, SPOT_PLACES),
                "applyMinToMarket": True,
                "maxNotional": fmt(Decimal("9000000"), SPOT_PLACES),
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": STP_MODES,
    }


def spot_exchange_info(instruments: Iterable[Any], server_time_ms: int) -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "serverTime": server_time_ms,
        "rateLimits": SPOT_RATE_LIMITS,
        "exchangeFilters": [],
        "symbols": [spot_symbol_info(i) for i in instruments],
    }


def futures_symbol_info(instrument: Any) -> dict[str, Any]:
    price_places = places_of(instrument.tick_size)
    qty_places = places_of(instrument.lot_size)
    return {
        "symbol": instrument.symbol,
        "pair": instrument.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": 1569398400000,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": instrument.base_asset,
        "quoteAsset": instrument.quote_asset,
        "marginAsset": instrument.settlement_asset,
        "pricePrecision": price_places,
        "quantityPrecision": qty_places,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fmt(instrument.tick_size, price_places),
                "maxPrice": fmt(Decimal("4529764"), price_places),
                "tickSize": fmt(instrument.tick_size, price_places),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": fmt(instrument.min_quantity, qty_places),
                "maxQty": fmt(instrument.max_quantity, qty_places),
                "stepSize": fmt(instrument.lot_size, qty_places),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": fmt(instrument.min_quantity, qty_places),
                "maxQty": fmt(instrument.max_quantity, qty_places),
                "stepSize": fmt(instrument.lot_size, qty_places),
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": format(instrument.min_notional.normalize(), "f")},
            {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500", "multiplierDown": "0.9500",
             "multiplierDecimal": "4"},
        ],
        "orderTypes": FUTURES_ORDER_TYPES,
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
        "permissionSets": ["GRID", "COPY"],
    }


def futures_exchange_info(instruments: Iterable[Any], server_time_ms: int, assets: Iterable[str]) -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "serverTime": server_time_ms,
        "futuresType": "U_MARGINED",
        "rateLimits": FUTURES_RATE_LIMITS,
        "exchangeFilters": [],
        "assets": [{"asset": a, "marginAvailable": True, "autoAssetExchange": "-10000"} for a in assets],
        "symbols": [futures_symbol_info(i) for i in instruments],
    }


# -- orders and trades ---------------------------------------------------------------------------------------------


SPOT_STOP_TYPES = {"STOP_MARKET": "STOP_LOSS", "STOP_LIMIT": "STOP_LOSS_LIMIT"}


def order_type(order: Any) -> str:
    """Binance spot's order type: post-only limits are ``LIMIT_MAKER``, stops ``STOP_LOSS`` / ``STOP_LOSS_LIMIT``."""
    if order.order_type == "LIMIT" and order.post_only:
        return "LIMIT_MAKER"
    return SPOT_STOP_TYPES.get(order.order_type, order.order_type)


def spot_order(order: Any) -> dict[str, Any]:
    """``GET /api/v3/order`` / ``openOrders`` / ``allOrders`` element."""
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id or "",
        "price": fmt(order.price, SPOT_PLACES),
        "origQty": fmt(order.quantity, SPOT_PLACES),
        "executedQty": fmt(order.filled_quantity, SPOT_PLACES),
        "cummulativeQuoteQty": fmt(order.cum_quote, SPOT_PLACES),
        "status": order.status,
        "timeInForce": order.time_in_force,
        "type": order_type(order),
        "side": order.side,
        "stopPrice": fmt(order.trigger_price, SPOT_PLACES),
        "icebergQty": fmt(ZERO, SPOT_PLACES),
        "time": order.created_ms,
        "updateTime": order.updated_ms,
        "isWorking": order.status in ("NEW", "PARTIALLY_FILLED"),
        "workingTime": order.created_ms,
        "origQuoteOrderQty": fmt(ZERO, SPOT_PLACES),
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }


def _spot_order_state(order: Any) -> dict[str, Any]:
    """The order's figures as every spot order answer spells them."""
    return {
        "price": fmt(order.price, SPOT_PLACES),
        "origQty": fmt(order.quantity, SPOT_PLACES),
        "executedQty": fmt(order.filled_quantity, SPOT_PLACES),
        "origQuoteOrderQty": fmt(ZERO, SPOT_PLACES),
        "cummulativeQuoteQty": fmt(order.cum_quote, SPOT_PLACES),
        "status": order.status,
        "timeInForce": order.time_in_force,
        "type": order_type(order),
        "side": order.side,
    }


def spot_new_order_result(order: Any, fills: Iterable[Any], transact_ms: int) -> dict[str, Any]:
    """``POST /api/v3/order`` answer with ``newOrderRespType=FULL`` (the default for MARKET and LIMIT)."""
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id or "",
        "transactTime": transact_ms,
        **_spot_order_state(order),
        "workingTime": transact_ms,
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "fills": [
            {
                "price": fmt(fill.price, SPOT_PLACES),
                "qty": fmt(fill.quantity, SPOT_PLACES),
                "commission": fmt(fill.fee, ASSET_PLACES),
                "commissionAsset": fill.fee_asset,
                "tradeId": fill.trade_id,
            }
            for fill in fills
        ],
    }


def spot_cancel_result(order: Any, cancel_client_id: str, transact_ms: int) -> dict[str, Any]:
    """``DELETE /api/v3/order`` answer: ``clientOrderId`` is the cancel request's id, ``origClientOrderId`` the
    order's."""
    return {
        "symbol": order.symbol,
        "origClientOrderId": order.client_order_id or "",
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": cancel_client_id,
        "transactTime": transact_ms,
        **_spot_order_state(order),
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }


def spot_trade(fill: Any) -> dict[str, Any]:
    """``GET /api/v3/myTrades`` element."""
    return {
        "symbol": fill.symbol,
        "id": fill.trade_id,
        "orderId": fill.order_id,
        "orderListId": -1,
        "price": fmt(fill.price, SPOT_PLACES),
        "qty": fmt(fill.quantity, SPOT_PLACES),
        "quoteQty": fmt(fill.quote_quantity, SPOT_PLACES),
        "commission": fmt(fill.fee, ASSET_PLACES),
        "commissionAsset": fill.fee_asset,
        "time": fill.time_ms,
        "isBuyer": fill.side == "BUY",
        "isMaker": fill.is_maker,
        "isBestMatch": True,
    }


def futures_order(order: Any, instrument: Any) -> dict[str, Any]:
    """``GET /fapi/v1/order`` / ``openOrders`` / ``allOrders`` element (also the POST/DELETE answer)."""
    price_places = places_of(instrument.tick_size)
    qty_places = places_of(instrument.lot_size)
    filled = order.filled_quantity
    return {
        "orderId": order.order_id,
        "symbol": order.symbol,
        "status": order.status,
        "clientOrderId": order.client_order_id or "",
        "price": fmt(order.price, price_places),
        "avgPrice": fmt(order.avg_price, max(price_places, 5)),
        "origQty": fmt(order.quantity, qty_places),
        "executedQty": fmt(filled, qty_places),
        "cumQty": fmt(filled, qty_places),
        "cumQuote": fmt(order.cum_quote, max(price_places + qty_places, 5)),
        "timeInForce": order.time_in_force,
        "type": algo.binance_type(order),
        "reduceOnly": bool(order.reduce_only),
        "closePosition": False,
        "side": order.side,
        "positionSide": "BOTH",
        "stopPrice": fmt(order.trigger_price, price_places),
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": algo.BINANCE_TYPES.get(order.order_type, order.order_type),
        "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "goodTillDate": 0,
        "time": order.created_ms,
        "updateTime": order.updated_ms,
    }


def futures_trade(fill: Any, instrument: Any) -> dict[str, Any]:
    """``GET /fapi/v1/userTrades`` element."""
    price_places = places_of(instrument.tick_size)
    qty_places = places_of(instrument.lot_size)
    return {
        "symbol": fill.symbol,
        "id": fill.trade_id,
        "orderId": fill.order_id,
        "side": fill.side,
        "price": fmt(fill.price, price_places),
        "qty": fmt(fill.quantity, qty_places),
        "realizedPnl": fmt(fill.realized_pnl, ASSET_PLACES),
        "marginAsset": instrument.quote_asset,
        "quoteQty": fmt(fill.quote_quantity, price_places + qty_places),
        "commission": fmt(fill.fee, ASSET_PLACES),
        "commissionAsset": fill.fee_asset,
        "time": fill.time_ms,
        "positionSide": "BOTH",
        "buyer": fill.side == "BUY",
        "maker": fill.is_maker,
    }


# -- user data events ----------------------------------------------------------------------------------------------


def execution_report(
    order: Any, fill: Any | None, exec_type: str, event_ms: int, cancel_client_id: str = ""
) -> dict[str, Any]:
    """Spot ``executionReport``. On a cancel ``c`` is the cancel request's id and ``C`` the order's own id."""
    canceled = exec_type == "CANCELED"
    return {
        "e": "executionReport",
        "E": event_ms,
        "s": order.symbol,
        "c": cancel_client_id if canceled else (order.client_order_id or ""),
        "S": order.side,
        "o": order_type(order),
        "f": order.time_in_force,
        "q": fmt(order.quantity, SPOT_PLACES),
        "p": fmt(order.price, SPOT_PLACES),
        "P": fmt(order.trigger_price, SPOT_PLACES),
        "F": fmt(ZERO, SPOT_PLACES),
        "g": -1,
        "C": (order.client_order_id or "") if canceled else "",
        "x": exec_type,
        "X": order.status,
        "r": "NONE",
        "i": order.order_id,
        "l": fmt(fill.quantity if fill else ZERO, SPOT_PLACES),
        "z": fmt(order.filled_quantity, SPOT_PLACES),
        "L": fmt(fill.price if fill else ZERO, SPOT_PLACES),
        "n": fmt(fill.fee if fill else ZERO, ASSET_PLACES),
        "N": fill.fee_asset if fill else None,
        "T": fill.time_ms if fill else event_ms,
        "t": fill.trade_id if fill else -1,
        "I": order.order_id * 2 + (1 if fill else 0),
        "w": order.status in ("NEW", "PARTIALLY_FILLED"),
        "m": bool(fill.is_maker) if fill else False,
        "M": False,
        "O": order.created_ms,
        "Z": fmt(order.cum_quote, SPOT_PLACES),
        "Y": fmt(fill.quote_quantity if fill else ZERO, SPOT_PLACES),
        "Q": fmt(ZERO, SPOT_PLACES),
        "W": order.created_ms,
        "V": "EXPIRE_MAKER",
    }


def outbound_account_position(balances: Iterable[tuple[str, Decimal, Decimal]], event_ms: int) -> dict[str, Any]:
    """Spot ``outboundAccountPosition`` for the assets an event changed: ``(asset, free, locked)``."""
    return {
        "e": "outboundAccountPosition",
        "E": event_ms,
        "u": event_ms,
        "B": [{"a": asset, "f": fmt(free, ASSET_PLACES), "l": fmt(locked, ASSET_PLACES)}
              for asset, free, locked in balances],
    }


def order_trade_update(order: Any, fill: Any | None, exec_type: str, instrument: Any, event_ms: int) -> dict[str, Any]:
    """USD-M ``ORDER_TRADE_UPDATE``; commission fields only on trades, as Binance pushes them."""
    price_places = places_of(instrument.tick_size)
    qty_places = places_of(instrument.lot_size)
    filled = order.filled_quantity
    body: dict[str, Any] = {
        "s": order.symbol,
        "c": order.client_order_id or "",
        "S": order.side,
        "o": algo.binance_type(order),
        "f": order.time_in_force,
        "q": fmt(order.quantity, qty_places),
        "p": fmt(order.price, price_places),
        "ap": fmt(order.avg_price, max(price_places, 5)),
        "sp": fmt(order.trigger_price, price_places),
        "x": exec_type,
        "X": order.status,
        "i": order.order_id,
        "l": fmt(fill.quantity if fill else ZERO, qty_places),
        "z": fmt(filled, qty_places),
        "L": fmt(fill.price if fill else ZERO, price_places),
    }
    if fill is not None:
        body["N"] = fill.fee_asset
        body["n"] = fmt(fill.fee, ASSET_PLACES)
    body.update({
        "T": fill.time_ms if fill else event_ms,
        "t": fill.trade_id if fill else 0,
        "b": "0",
        "a": "0",
        "m": bool(fill.is_maker) if fill else False,
        "R": bool(order.reduce_only),
        "wt": "CONTRACT_PRICE",
        "ot": algo.BINANCE_TYPES.get(order.order_type, order.order_type),
        "ps": "BOTH",
        "cp": False,
        "rp": fmt(fill.realized_pnl if fill else ZERO, ASSET_PLACES),
        "pP": False,
        "si": 0,
        "ss": 0,
        "V": "EXPIRE_MAKER",
        "pm": "NONE",
        "gtd": 0,
    })
    return {"e": "ORDER_TRADE_UPDATE", "E": event_ms, "T": event_ms, "o": body}


def account_update(
    reason: str,
    balances: Iterable[tuple[str, Decimal, Decimal]],
    positions: Iterable[tuple[str, Decimal, Decimal, Decimal, int]],
    event_ms: int,
) -> dict[str, Any]:
    """USD-M ``ACCOUNT_UPDATE``: ``balances`` as ``(asset, wallet, balance change)``, ``positions`` as
    ``(symbol, signed amount, entry price, unrealized pnl, quantity decimals)``."""
    return {
        "e": "ACCOUNT_UPDATE",
        "E": event_ms,
        "T": event_ms,
        "a": {
            "m": reason,
            "B": [
                {"a": asset, "wb": fmt(wallet, ASSET_PLACES), "cw": fmt(wallet, ASSET_PLACES),
                 "bc": fmt(change, ASSET_PLACES)}
                for asset, wallet, change in balances
            ],
            "P": [
                {
                    "s": symbol,
                    "pa": fmt(amount, qty_places),
                    "ep": fmt(entry, ASSET_PLACES),
                    "bep": fmt(entry, ASSET_PLACES),
                    "cr": "0",
                    "up": fmt(unrealized, ASSET_PLACES),
                    "mt": "cross",
                    "iw": "0",
                    "ps": "BOTH",
                    "ma": "USDT",
                }
                for symbol, amount, entry, unrealized, qty_places in positions
            ],
        },
    }


# -- market data ---------------------------------------------------------------------------------------------------


def trade_event(
    symbol: str, trade_id: int, price: str, quantity: str, buyer_is_maker: bool, time_ms: int
) -> dict[str, Any]:
    """``<symbol>@trade`` payload."""
    return {"e": "trade", "E": time_ms, "s": symbol, "t": trade_id, "p": price, "q": quantity, "T": time_ms,
            "m": buyer_is_maker, "M": True}


def agg_trade_event(
    symbol: str, trade_id: int, price: str, quantity: str, buyer_is_maker: bool, time_ms: int
) -> dict[str, Any]:
    """``<symbol>@aggTrade`` payload (one simulated trade per aggregate)."""
    return {"e": "aggTrade", "E": time_ms, "s": symbol, "a": trade_id, "p": price, "q": quantity, "f": trade_id,
            "l": trade_id, "T": time_ms, "m": buyer_is_maker, "M": True}


def book_ticker_event(
    symbol: str, update_id: int, bid: tuple[str, str], ask: tuple[str, str], time_ms: int, futures: bool
) -> dict[str, Any]:
    """``<symbol>@bookTicker``: spot carries no event type or times; USD-M adds ``e``, ``E`` and ``T``."""
    body: dict[str, Any] = {"u": update_id, "s": symbol, "b": bid[0], "B": bid[1], "a": ask[0], "A": ask[1]}
    if futures:
        return {"e": "bookTicker", **body, "E": time_ms, "T": time_ms}
    return body


def depth_update_event(
    symbol: str, first_id: int, last_id: int, bids: list[list[str]], asks: list[list[str]], time_ms: int, futures: bool
) -> dict[str, Any]:
    """``<symbol>@depth@100ms`` diff; USD-M adds ``T`` and ``pu`` (previous final update id)."""
    body: dict[str, Any] = {"e": "depthUpdate", "E": time_ms}
    if futures:
        body["T"] = time_ms
    body.update({"s": symbol, "U": first_id, "u": last_id})
    if futures:
        body["pu"] = first_id - 1
    body.update({"b": bids, "a": asks})
    return body


def public_trade(trade: Any, price_places: int, qty_places: int) -> dict[str, Any]:
    """``GET /api/v3/trades`` / ``GET /fapi/v1/trades`` element (``isBestMatch`` is spot only)."""
    price, quantity = fmt(trade.price, price_places), fmt(trade.quantity, qty_places)
    return {"id": trade.trade_id, "price": price, "qty": quantity,
            "quoteQty": fmt(trade.price * trade.quantity, min(price_places + qty_places, 8)), "time": trade.time_ms,
            "isBuyerMaker": trade.side == "SELL", "isBestMatch": True}


def public_agg_trade(trade: Any, price_places: int, qty_places: int) -> dict[str, Any]:
    """``GET /aggTrades`` element: one simulated trade per aggregate."""
    return {"a": trade.trade_id, "p": fmt(trade.price, price_places), "q": fmt(trade.quantity, qty_places),
            "f": trade.trade_id, "l": trade.trade_id, "T": trade.time_ms, "m": trade.side == "SELL", "M": True}


def partial_depth_event(last_id: int, bids: list[list[str]], asks: list[list[str]]) -> dict[str, Any]:
    """``<symbol>@depth<N>@100ms`` (spot shape: the snapshot of the top N levels)."""
    return {"lastUpdateId": last_id, "bids": bids, "asks": asks}


def depth_snapshot(
    last_id: int, bids: list[list[str]], asks: list[list[str]], time_ms: int, futures: bool
) -> dict[str, Any]:
    """``GET /api/v3/depth`` / ``GET /fapi/v1/depth``."""
    if futures:
        return {"lastUpdateId": last_id, "E": time_ms, "T": time_ms, "bids": bids, "asks": asks}
    return {"lastUpdateId": last_id, "bids": bids, "asks": asks}


# -- futures conditional (algo) orders -------------------------------------------------------------------------------


def futures_algo_order(order: Any, instrument: Any) -> dict[str, Any]:
    """``/fapi/v1/algoOrder`` answer and ``openAlgoOrders`` / ``allAlgoOrders`` element."""
    price_places, qty_places = places_of(instrument.tick_size), places_of(instrument.lot_size)
    return {
        "algoId": algo.algo_id(order),
        "clientAlgoId": order.client_order_id or "",
        "algoType": "CONDITIONAL",
        "orderType": algo.BINANCE_TYPES[order.order_type],
        "symbol": order.symbol,
        "side": order.side,
        "positionSide": "BOTH",
        "timeInForce": order.time_in_force,
        "quantity": fmt(order.quantity, qty_places),
        "algoStatus": algo.status(order),
        "triggerPrice": fmt(order.trigger_price, price_places),
        "price": fmt(order.price, price_places),
        "icebergQuantity": None,
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "workingType": "CONTRACT_PRICE",
        "priceMatch": "NONE",
        "closePosition": False,
        "priceProtect": False,
        "reduceOnly": bool(order.reduce_only),
        "activatePrice": "",
        "callbackRate": "",
        "createTime": order.created_ms,
        "updateTime": order.updated_ms,
        "triggerTime": order.updated_ms if order.triggered else 0,
        "goodTillDate": 0,
        "actualOrderId": str(order.order_id) if order.triggered else "",
    }


def algo_update(order: Any, instrument: Any, event_ms: int) -> dict[str, Any]:
    """USD-M ``ALGO_UPDATE``; ``ai`` / ``ap`` / ``aq`` describe the regular order once the stop triggered."""
    price_places, qty_places = places_of(instrument.tick_size), places_of(instrument.lot_size)
    return {
        "e": "ALGO_UPDATE",
        "T": event_ms,
        "E": event_ms,
        "o": {
            "caid": order.client_order_id or "",
            "aid": algo.algo_id(order),
            "at": "CONDITIONAL",
            "o": algo.BINANCE_TYPES[order.order_type],
            "s": order.symbol,
            "S": order.side,
            "ps": "BOTH",
            "f": order.time_in_force,
            "q": fmt(order.quantity, qty_places),
            "X": algo.status(order),
            "ai": str(order.order_id) if order.triggered else "",
            "ap": fmt(order.avg_price, price_places),
            "aq": fmt(order.filled_quantity, qty_places),
            "act": algo.binance_type(order) if order.triggered else "",
            "tp": fmt(order.trigger_price, price_places),
            "p": fmt(order.price, price_places),
            "V": "EXPIRE_MAKER",
            "wt": "CONTRACT_PRICE",
            "pm": "NONE",
            "cp": False,
            "pP": False,
            "R": bool(order.reduce_only),
            "tt": order.updated_ms if order.triggered else 0,
            "gtd": 0,
        },
    }


# -- futures account -----------------------------------------------------------------------------------------------


def futures_account(
    account: Any, positions: dict[str, Any], instruments: dict[str, Any], now_ms: int
) -> dict[str, Any]:
    """``GET /fapi/v2/account`` (v3 has the same fields): per-asset margin figures and every symbol's position."""
    assets = []
    for asset, margin in sorted(account.margins.items()):
        assets.append({
            "asset": asset,
            "walletBalance": fmt(margin.wallet_balance, ASSET_PLACES),
            "unrealizedProfit": fmt(margin.unrealized_pnl, ASSET_PLACES),
            "marginBalance": fmt(margin.margin_balance, ASSET_PLACES),
            "maintMargin": fmt(margin.maintenance_margin, ASSET_PLACES),
            "initialMargin": fmt(margin.position_initial_margin + margin.open_order_margin, ASSET_PLACES),
            "positionInitialMargin": fmt(margin.position_initial_margin, ASSET_PLACES),
            "openOrderInitialMargin": fmt(margin.open_order_margin, ASSET_PLACES),
            "crossWalletBalance": fmt(margin.wallet_balance, ASSET_PLACES),
            "crossUnPnl": fmt(margin.unrealized_pnl, ASSET_PLACES),
            "availableBalance": fmt(margin.available_balance, ASSET_PLACES),
            "maxWithdrawAmount": fmt(max(ZERO, min(margin.available_balance, margin.wallet_balance)), ASSET_PLACES),
            "marginAvailable": True,
            "updateTime": now_ms,
        })

    def total(name: str) -> str:
        return fmt(sum((Decimal(a[name]) for a in assets), ZERO), ASSET_PLACES)

    return {
        "feeTier": 0,
        "feeBurn": False,
        "canTrade": True,
        "canDeposit": True,
        "canWithdraw": True,
        "updateTime": 0,
        "multiAssetsMargin": False,
        "tradeGroupId": -1,
        "totalInitialMargin": total("initialMargin"),
        "totalMaintMargin": total("maintMargin"),
        "totalWalletBalance": total("walletBalance"),
        "totalUnrealizedProfit": total("unrealizedProfit"),
        "totalMarginBalance": total("marginBalance"),
        "totalPositionInitialMargin": total("positionInitialMargin"),
        "totalOpenOrderInitialMargin": total("openOrderInitialMargin"),
        "totalCrossWalletBalance": total("crossWalletBalance"),
        "totalCrossUnPnl": total("crossUnPnl"),
        "availableBalance": total("availableBalance"),
        "maxWithdrawAmount": total("maxWithdrawAmount"),
        "assets": assets,
        "positions": [
            {
                "symbol": symbol,
                "initialMargin": fmt(p.initial_margin, ASSET_PLACES),
                "maintMargin": fmt(p.maintenance_margin, ASSET_PLACES),
                "unrealizedProfit": fmt(p.unrealized_pnl, ASSET_PLACES),
                "positionInitialMargin": fmt(p.initial_margin, ASSET_PLACES),
                "openOrderInitialMargin": "0",
                "leverage": str(p.leverage),
                "isolated": False,
                "entryPrice": fmt(p.entry_price, ASSET_PLACES),
                "breakEvenPrice": fmt(p.entry_price, ASSET_PLACES),
                "maxNotional": "1000000",
                "bidNotional": "0",
                "askNotional": "0",
                "positionSide": "BOTH",
                "positionAmt": fmt(p.quantity, places_of(instruments[symbol].lot_size)),
                "updateTime": p.updated_ms,
            }
            for symbol, p in positions.items()
        ],
    }


def position_risk(position: Any, instrument: Any, v2: bool) -> dict[str, Any]:
    """``GET /fapi/v3/positionRisk`` element; ``v2`` adds the leverage / margin-type fields of the older version."""
    price_places = places_of(instrument.tick_size)
    body: dict[str, Any] = {
        "symbol": position.symbol,
        "positionSide": "BOTH",
        "positionAmt": fmt(position.quantity, places_of(instrument.lot_size)),
        "entryPrice": fmt(position.entry_price, ASSET_PLACES),
        "breakEvenPrice": fmt(position.entry_price, ASSET_PLACES),
        "markPrice": fmt(position.mark_price, ASSET_PLACES),
        "unRealizedProfit": fmt(position.unrealized_pnl, ASSET_PLACES),
        "liquidationPrice": fmt(ZERO, price_places),
        "isolatedMargin": fmt(ZERO, ASSET_PLACES),
        "notional": fmt(position.notional if position.quantity >= 0 else -position.notional, ASSET_PLACES),
        "marginAsset": position.settle_asset,
        "isolatedWallet": "0",
        "initialMargin": fmt(position.initial_margin, ASSET_PLACES),
        "maintMargin": fmt(position.maintenance_margin, ASSET_PLACES),
        "positionInitialMargin": fmt(position.initial_margin, ASSET_PLACES),
        "openOrderInitialMargin": "0",
        "adl": 0,
        "bidNotional": "0",
        "askNotional": "0",
        "updateTime": position.updated_ms,
    }
    if v2:
        body.update({"marginType": "cross", "isAutoAddMargin": "false", "leverage": str(position.leverage),
                     "maxNotionalValue": "1000000"})
    return body
