"""``POST /order`` parameters -> a venue-neutral order request, with Binance's own answers for bad input.

Spot order types map onto the core's: ``LIMIT_MAKER`` is a post-only limit, ``STOP_LOSS`` / ``STOP_LOSS_LIMIT`` are
stop-market / stop-limit. On USD-M ``/fapi/v1/order`` takes ``MARKET`` and ``LIMIT`` (``GTX`` = post-only);
conditional types belong to the Algo Order API since 2025-12 and are refused with -4120 as Binance does.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from backend.simulator.venues.binance import errors
from backend.simulator.venues.binance.errors import BinanceApiError
from backend.simulator.venues.binance.rest import Call

SIDES = ("BUY", "SELL")
SPOT_TYPES = {
    "MARKET": "MARKET",
    "LIMIT": "LIMIT",
    "LIMIT_MAKER": "LIMIT",
    "STOP_LOSS": "STOP_MARKET",
    "STOP_LOSS_LIMIT": "STOP_LIMIT",
}
FUTURES_TYPES = {"MARKET": "MARKET", "LIMIT": "LIMIT"}
FUTURES_ALGO_TYPES = ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET")
SPOT_TIFS = ("GTC", "IOC", "FOK")
FUTURES_TIFS = ("GTC", "IOC", "FOK", "GTX", "GTD")
NEEDS_PRICE = ("LIMIT", "STOP_LIMIT")
NEEDS_TRIGGER = ("STOP_MARKET", "STOP_LIMIT")


@dataclass(frozen=True, slots=True)
class NewOrder:
    symbol: str
    side: str
    order_type: str  # the core's type
    quantity: Decimal
    price: Decimal | None
    trigger_price: Decimal | None
    time_in_force: str
    post_only: bool
    reduce_only: bool
    client_order_id: str | None


def decimal_param(call: Call, name: str, required: bool) -> Decimal | None:
    raw = call.get(name)
    if raw is None:
        if required:
            raise errors.missing_parameter(name)
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise errors.missing_parameter(name) from None
    if not value.is_finite():
        raise errors.missing_parameter(name)
    return value


def parse_new_order(call: Call, futures: bool, symbols: Container[str]) -> NewOrder:
    symbol = call.required("symbol")
    if symbol not in symbols:
        raise errors.bad_symbol()
    side = call.required("side")
    if side not in SIDES:
        raise errors.invalid_side()
    binance_type = call.required("type")
    types = FUTURES_TYPES if futures else SPOT_TYPES
    if futures and binance_type in FUTURES_ALGO_TYPES:
        raise BinanceApiError(-4120, "Order type not supported for this endpoint. Please use the Algo Order API "
                                     "endpoints instead.")
    if binance_type not in types:
        raise errors.invalid_order_type()
    order_type = types[binance_type]

    time_in_force = "GTC"
    raw_tif = call.get("timeInForce")
    if order_type in NEEDS_PRICE and binance_type != "LIMIT_MAKER":
        if raw_tif is None:
            raise errors.missing_parameter("timeInForce")
        time_in_force = raw_tif
    elif raw_tif is not None:
        time_in_force = raw_tif
    if time_in_force not in (FUTURES_TIFS if futures else SPOT_TIFS):
        raise errors.invalid_time_in_force()
    post_only = binance_type == "LIMIT_MAKER" or (futures and time_in_force == "GTX")
    if futures and time_in_force == "GTD":
        time_in_force = "GTC"  # the simulator does not expire orders by date; GTD rests like GTC

    if call.get("quoteOrderQty") is not None:
        raise errors.not_simulated("quoteOrderQty (market orders sized in quote asset) is not simulated; send quantity.")
    quantity = decimal_param(call, "quantity", required=True)
    assert quantity is not None
    price = decimal_param(call, "price", required=order_type in NEEDS_PRICE)
    trigger_price = decimal_param(call, "stopPrice", required=order_type in NEEDS_TRIGGER)
    reduce_only = (call.get("reduceOnly") or "false").lower() == "true"
    if reduce_only and not futures:
        raise BinanceApiError(-1106, "Parameter 'reduceOnly' sent when not required.")
    position_side = call.get("positionSide")
    if futures and position_side not in (None, "BOTH"):
        raise BinanceApiError(-4061, "Order's position side does not match user's setting.")
    return NewOrder(
        symbol=symbol,
        side=side,
        order_type=order_type,
        quantity=quantity,
        price=price if order_type in NEEDS_PRICE else None,
        trigger_price=trigger_price if order_type in NEEDS_TRIGGER else None,
        time_in_force="GTX" if post_only and futures else time_in_force,
        post_only=post_only,
        reduce_only=reduce_only,
        client_order_id=call.get("newClientOrderId"),
    )
