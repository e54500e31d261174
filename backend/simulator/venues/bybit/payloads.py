"""Pure conversions from core records to Bybit v5 JSON shapes (REST ``result`` items and WebSocket ``data`` items).

Numbers are strings, enums use Bybit's spelling (``Buy``, ``Limit``, ``PartiallyFilled``, ``Cancelled`` ...).
Order, execution and position items carry the union of the fields the REST endpoints and the private WebSocket
topics send, so one builder serves both (NautilusTrader 1.231.0's serde models ignore fields they do not know but
require every field they declare).

Ids: the core numbers orders and trades per exchange, so spot and linear ids can coincide. Like the real venue, spot
ids are decimal strings and linear ids UUIDs (here the UUID whose integer is the core's id), so they never collide
(NautilusTrader indexes orders by venue order id).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Literal

from backend.simulator.core.accounts import FeeSchedule, MarginSnapshot
from backend.simulator.core.events import BalanceSnapshot, PositionSnapshot
from backend.simulator.core.instruments import SimInstrument
from backend.simulator.core.orders import SimFill, SimOrder

Category = Literal["spot", "linear"]
ZERO = Decimal(0)

SIDES = {"BUY": "Buy", "SELL": "Sell"}
ORDER_TYPES = {"MARKET": "Market", "LIMIT": "Limit", "STOP_MARKET": "Market", "STOP_LIMIT": "Limit"}
TIMES_IN_FORCE = {"GTC": "GTC", "IOC": "IOC", "FOK": "FOK", "GTX": "PostOnly"}


def venue_id(category: Category, core_id: int) -> str:
    """An order / execution / public trade id as the venue prints it for ``category``."""
    return str(core_id) if category == "spot" else str(uuid.UUID(int=core_id))


def core_id(category: Category, text: str) -> int | None:
    """The core id behind a venue id of ``category``; None when ``text`` cannot be one."""
    try:
        return int(text) if category == "spot" else uuid.UUID(text).int
    except ValueError:
        return None


def num(value: Decimal) -> str:
    """A decimal as Bybit prints it: plain notation, no exponent, trailing zeros dropped."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def envelope(result: Any, time_ms: int, ret_code: int = 0, ret_msg: str = "OK") -> dict[str, Any]:
    return {"retCode": ret_code, "retMsg": ret_msg, "result": result, "retExtInfo": {}, "time": time_ms}


# -- instruments and fees ------------------------------------------------------------------------------------------


def spot_instrument(instrument: SimInstrument) -> dict[str, Any]:
    """``/v5/market/instruments-info?category=spot`` item. Filters keep the configured spelling (the adapter derives
    precision from the tick and lot strings)."""
    max_amount = instrument.max_quantity * instrument.start_price * 100
    return {
        "symbol": instrument.symbol,
        "baseCoin": instrument.base_asset,
        "quoteCoin": instrument.quote_asset,
        "innovation": "0",
        "status": "Trading",
        "marginTrading": "utaOnly",
        "stTag": "0",
        "lotSizeFilter": {
            "basePrecision": str(instrument.lot_size),
            "quotePrecision": str(instrument.tick_size),
            "minOrderQty": str(instrument.min_quantity),
            "maxOrderQty": str(instrument.max_quantity),
            "minOrderAmt": str(instrument.min_notional),
            "maxOrderAmt": num(max_amount),
        },
        "priceFilter": {"tickSize": str(instrument.tick_size)},
        "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.05"},
    }


def linear_instrument(instrument: SimInstrument) -> dict[str, Any]:
    """``/v5/market/instruments-info?category=linear`` item (USDT perpetual)."""
    tick = instrument.tick_size
    return {
        "symbol": instrument.symbol,
        "contractType": "LinearPerpetual",
        "status": "Trading",
        "baseCoin": instrument.base_asset,
        "quoteCoin": instrument.quote_asset,
        "launchTime": "1585526400000",
        "deliveryTime": "0",
        "deliveryFeeRate": "",
        "priceScale": str(max(0, -tick.normalize().as_tuple().exponent)),
        "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
        "priceFilter": {"minPrice": str(tick), "maxPrice": num(instrument.start_price * 1000), "tickSize": str(tick)},
        "lotSizeFilter": {
            "maxOrderQty": str(instrument.max_quantity),
            "minOrderQty": str(instrument.min_quantity),
            "qtyStep": str(instrument.lot_size),
            "postOnlyMaxOrderQty": str(instrument.max_quantity),
            "maxMktOrderQty": str(instrument.max_quantity),
            "minNotionalValue": num(instrument.min_notional),
        },
        "unifiedMarginTrade": True,
        "fundingInterval": 480,
        "settleCoin": instrument.settlement_asset,
        "copyTrading": "both",
        "upperFundingRate": "0.00375",
        "lowerFundingRate": "-0.00375",
        "isPreListing": False,
        "preListingInfo": None,
        "displayName": "",
    }


def fee_rate(symbol: str, fees: FeeSchedule) -> dict[str, Any]:
    return {"symbol": symbol, "takerFeeRate": num(fees.taker), "makerFeeRate": num(fees.maker), "baseCoin": ""}


# -- orders and executions -----------------------------------------------------------------------------------------


def order_status(order: SimOrder) -> str:
    """Bybit's ``orderStatus``; a closed remainder after fills is ``PartiallyFilledCanceled``."""
    if order.status == "NEW":
        return "Untriggered" if order.is_stop and not order.triggered else "New"
    if order.status == "PARTIALLY_FILLED":
        return "PartiallyFilled"
    if order.status == "FILLED":
        return "Filled"
    return "PartiallyFilledCanceled" if order.filled_quantity > 0 else "Cancelled"


def fee_currency(instrument: SimInstrument, side: str) -> str:
    """Spot fees are charged in the asset received; perpetual fees in the settle asset."""
    if instrument.is_perpetual:
        return instrument.settlement_asset
    return instrument.base_asset if side == "BUY" else instrument.quote_asset


def order_item(
    order: SimOrder, instrument: SimInstrument, category: Category, cancel_type: str = "UNKNOWN"
) -> dict[str, Any]:
    """An order as ``/v5/order/realtime``, ``/v5/order/history`` and the ``order`` topic show it."""
    price = order.price if order.price is not None and order.order_type in ("LIMIT", "STOP_LIMIT") else ZERO
    leaves = order.remaining_quantity if order.is_open else ZERO
    is_market = order.order_type in ("MARKET", "STOP_MARKET")
    trigger_direction = 0
    if order.is_stop:
        trigger_direction = 1 if order.is_buy else 2
    return {
        "category": category,
        "symbol": order.symbol,
        "orderId": venue_id(category, order.order_id),
        "orderLinkId": order.client_order_id or "",
        "blockTradeId": "",
        "side": SIDES[order.side],
        "orderType": ORDER_TYPES[order.order_type],
        "price": num(price),
        "qty": num(order.quantity),
        "isLeverage": "0",
        "positionIdx": 0,
        "orderStatus": order_status(order),
        "cancelType": cancel_type if order.status in ("CANCELED", "EXPIRED") else "UNKNOWN",
        "rejectReason": "EC_NoError",
        "avgPrice": num(order.avg_price) if order.filled_quantity > 0 else "0",
        "leavesQty": num(leaves),
        "leavesValue": num(leaves * price * instrument.contract_size),
        "cumExecQty": num(order.filled_quantity),
        "cumExecValue": num(order.cum_quote),
        "cumExecFee": num(order.fee_total),
        "feeCurrency": fee_currency(instrument, order.side),
        "timeInForce": "IOC" if is_market else TIMES_IN_FORCE[order.time_in_force],
        "stopOrderType": "Stop" if order.is_stop else "",
        "orderIv": "",
        "triggerPrice": num(order.trigger_price or ZERO),
        "takeProfit": "0",
        "stopLoss": "0",
        "tpTriggerBy": "",
        "slTriggerBy": "",
        "triggerDirection": trigger_direction,
        "triggerBy": "LastPrice" if order.is_stop else "",
        "lastPriceOnCreated": "",
        "reduceOnly": order.reduce_only,
        "closeOnTrigger": False,
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "tpslMode": "UNKNOWN",
        "tpLimitPrice": "0",
        "slLimitPrice": "0",
        "placeType": "",
        "createType": "CreateByUser",
        "createdTime": str(order.created_ms),
        "updatedTime": str(order.updated_ms),
    }


def execution_item(
    fill: SimFill,
    order: SimOrder,
    instrument: SimInstrument,
    category: Category,
    fee_rate_applied: Decimal,
    mark_price: Decimal | None,
    seq: int,
) -> dict[str, Any]:
    """One fill as ``/v5/execution/list`` and the ``execution`` topic show it; ``order`` is the order after it."""
    price = order.price if order.price is not None and order.order_type in ("LIMIT", "STOP_LIMIT") else ZERO
    return {
        "category": category,
        "symbol": fill.symbol,
        "orderId": venue_id(category, fill.order_id),
        "orderLinkId": fill.client_order_id or "",
        "side": SIDES[fill.side],
        "orderPrice": num(price),
        "orderQty": num(order.quantity),
        "leavesQty": num(order.remaining_quantity if order.is_open else ZERO),
        "createType": "CreateByUser",
        "orderType": ORDER_TYPES[order.order_type],
        "stopOrderType": "Stop" if order.is_stop else "",
        "execFee": num(fill.fee),
        "execId": venue_id(category, fill.trade_id),
        "execPrice": num(fill.price),
        "execQty": num(fill.quantity),
        "execType": "Trade",
        "execValue": num(fill.quote_quantity),
        "execTime": str(fill.time_ms),
        "feeCurrency": fill.fee_asset,
        "isMaker": fill.is_maker,
        "feeRate": num(fee_rate_applied),
        "tradeIv": "",
        "markIv": "",
        "markPrice": num(mark_price) if mark_price is not None else "",
        "indexPrice": "",
        "underlyingPrice": "",
        "blockTradeId": "",
        "closedSize": "0",
        "seq": seq,
        "isLeverage": "0",
    }


# -- positions and wallet ------------------------------------------------------------------------------------------


def position_item(position: PositionSnapshot, seq: int, created_ms: int) -> dict[str, Any]:
    """A linear position as ``/v5/position/list`` and the ``position`` topic show it (one-way mode)."""
    side = {"LONG": "Buy", "SHORT": "Sell", "FLAT": ""}[position.side]
    entry = num(position.entry_price) if position.quantity != 0 else "0"
    return {
        "category": "linear",
        "symbol": position.symbol,
        "positionIdx": 0,
        "tradeMode": 0,
        "riskId": 1,
        "riskLimitValue": "2000000",
        "side": side,
        "size": num(abs(position.quantity)),
        "avgPrice": entry,
        "entryPrice": entry,
        "sessionAvgPrice": "",
        "positionValue": num(abs(position.notional)),
        "leverage": str(position.leverage),
        "positionBalance": num(position.initial_margin),
        "markPrice": num(position.mark_price),
        "liqPrice": "",
        "bustPrice": "",
        "positionIM": num(position.initial_margin),
        "positionIMByMp": num(position.initial_margin),
        "positionMM": num(position.maintenance_margin),
        "positionMMByMp": num(position.maintenance_margin),
        "positionStatus": "Normal",
        "autoAddMargin": 0,
        "adlRankIndicator": 2 if position.quantity != 0 else 0,
        "tpslMode": "Full",
        "takeProfit": "0",
        "stopLoss": "0",
        "trailingStop": "0",
        "unrealisedPnl": num(position.unrealized_pnl),
        "curRealisedPnl": num(position.realized_pnl),
        "cumRealisedPnl": num(position.realized_pnl),
        "seq": seq,
        "isReduceOnly": False,
        "mmrSysUpdatedTime": "",
        "leverageSysUpdatedTime": "",
        "createdTime": str(created_ms),
        "updatedTime": str(position.updated_ms or created_ms),
    }


def wallet_item(
    balances: Iterable[BalanceSnapshot],
    margins: Mapping[str, MarginSnapshot],
    linear_order_margin: Mapping[str, Decimal],
    usd_prices: Mapping[str, Decimal],
    realized_pnl: Mapping[str, Decimal],
) -> dict[str, Any]:
    """The unified wallet as ``/v5/account/wallet-balance`` and the ``wallet`` topic show it.

    Per coin: ``walletBalance`` = the ledger total; ``totalOrderIM`` = everything open orders hold (the ledger's
    ``locked``: the unified account counts spot order funds as order margin too), of which ``locked`` is the part held
    by spot orders (``linear_order_margin`` is what linear orders hold); ``totalPositionIM`` / ``totalPositionMM`` are the
    positions' margins; ``availableToWithdraw`` = total - order holds - position IM; ``equity`` = total + unrealized
    PnL. ``usd_prices`` values each coin for the account-level USD totals. NautilusTrader 1.231.0 books
    ``totalOrderIM + totalPositionIM`` as the locked part of a wallet push.
    """
    coins = []
    total_equity = total_wallet = total_im = total_mm = total_upl = ZERO
    for balance in balances:
        margin = margins.get(balance.asset)
        upl = margin.unrealized_pnl if margin else ZERO
        position_im = margin.position_initial_margin if margin else ZERO
        order_im = balance.locked
        spot_locked = balance.locked - linear_order_margin.get(balance.asset, ZERO)
        mm = margin.maintenance_margin if margin else ZERO
        withdrawable = max(ZERO, balance.free - position_im)
        usd = usd_prices.get(balance.asset, ZERO)
        equity = balance.total + upl
        total_equity += equity * usd
        total_wallet += balance.total * usd
        total_im += (position_im + order_im) * usd
        total_mm += mm * usd
        total_upl += upl * usd
        coins.append(
            {
                "coin": balance.asset,
                "equity": num(equity),
                "usdValue": num(equity * usd),
                "walletBalance": num(balance.total),
                "locked": num(spot_locked),
                "availableToWithdraw": num(withdrawable),
                "availableToBorrow": "",
                "borrowAmount": "0",
                "accruedInterest": "0",
                "totalOrderIM": num(order_im),
                "totalPositionIM": num(position_im),
                "totalPositionMM": num(mm),
                "unrealisedPnl": num(upl),
                "cumRealisedPnl": num(realized_pnl.get(balance.asset, ZERO)),
                "bonus": "0",
                "collateralSwitch": True,
                "marginCollateral": True,
                "spotHedgingQty": "0",
                "spotBorrow": "0",
            }
        )
    available = total_equity - total_im
    return {
        "accountType": "UNIFIED",
        "accountIMRate": num((total_im / total_equity).quantize(Decimal("0.0001"))) if total_equity else "0",
        "accountMMRate": num((total_mm / total_equity).quantize(Decimal("0.0001"))) if total_equity else "0",
        "accountLTV": "0",
        "totalEquity": num(total_equity),
        "totalWalletBalance": num(total_wallet),
        "totalMarginBalance": num(total_equity),
        "totalAvailableBalance": num(available),
        "totalPerpUPL": num(total_upl),
        "totalInitialMargin": num(total_im),
        "totalMaintenanceMargin": num(total_mm),
        "coin": coins,
    }


# -- public market data --------------------------------------------------------------------------------------------


def book_levels(levels: Iterable[tuple[Decimal, Decimal]]) -> list[list[str]]:
    return [[num(price), num(quantity)] for price, quantity in levels]


def public_trade_item(
    category: Category, symbol: str, trade_id: int, price: Decimal, quantity: Decimal, side: str, time_ms: int
) -> dict[str, Any]:
    return {
        "T": time_ms,
        "s": symbol,
        "S": SIDES[side],
        "v": num(quantity),
        "p": num(price),
        "L": "PlusTick" if side == "BUY" else "MinusTick",
        "i": venue_id(category, trade_id),
        "BT": False,
    }


def ticker_item(
    category: Category,
    symbol: str,
    last_price: Decimal,
    best_bid: tuple[Decimal, Decimal],
    best_ask: tuple[Decimal, Decimal],
    next_funding_ms: int,
) -> dict[str, Any]:
    """A ticker (``/v5/market/tickers`` item and the ``tickers`` topic data); 24h figures are flat (no history)."""
    item = {
        "symbol": symbol,
        "lastPrice": num(last_price),
        "bid1Price": num(best_bid[0]),
        "bid1Size": num(best_bid[1]),
        "ask1Price": num(best_ask[0]),
        "ask1Size": num(best_ask[1]),
        "prevPrice24h": num(last_price),
        "price24hPcnt": "0",
        "highPrice24h": num(last_price),
        "lowPrice24h": num(last_price),
        "turnover24h": "0",
        "volume24h": "0",
    }
    if category == "spot":
        item["usdIndexPrice"] = num(last_price)
        return item
    item.update(
        {
            "tickDirection": "ZeroPlusTick",
            "prevPrice1h": num(last_price),
            "markPrice": num(last_price),
            "indexPrice": num(last_price),
            "openInterest": "0",
            "openInterestValue": "0",
            "fundingRate": "0.0001",
            "nextFundingTime": str(next_funding_ms),
            "predictedDeliveryPrice": "",
            "basisRate": "",
            "deliveryFeeRate": "",
            "deliveryTime": "0",
            "basis": "",
        }
    )
    return item
