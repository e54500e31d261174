"""USD-M conditional orders through the Algo Order API (``/fapi/v1/algoOrder``), as Binance requires since 2025-12.

A conditional order is the core's stop order (``STOP_MARKET``; Binance's ``STOP`` is a stop-limit). Until it
triggers it exists only as an algo order: its ``algoId`` is the core order id plus ``ALGO_ID_OFFSET`` (deterministic,
no extra state), it is listed by ``openAlgoOrders`` and not by ``openOrders``, and its changes go out as
``ALGO_UPDATE``. Once triggered it is a regular order under the core order id (``actualOrderId``), of type
``MARKET`` / ``LIMIT``, reported with ``ORDER_TRADE_UPDATE`` like any other. Take-profit and trailing types are not
simulated (the core has stops only).
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from backend.simulator.core.orders import SimOrder
from backend.simulator.venues.binance import errors
from backend.simulator.venues.binance.errors import BinanceApiError
from backend.simulator.venues.binance.orders import SIDES, decimal_param
from backend.simulator.venues.binance.rest import Call

ALGO_ID_OFFSET = 1_000_000_000_000
ALGO_TYPES = {"STOP_MARKET": "STOP_MARKET", "STOP": "STOP_LIMIT"}  # Binance type -> core type
BINANCE_TYPES = {core: binance for binance, core in ALGO_TYPES.items()}
TRIGGERED_TYPES = {"STOP_MARKET": "MARKET", "STOP_LIMIT": "LIMIT"}  # what a triggered stop becomes


def algo_id(order: SimOrder) -> int:
    return order.order_id + ALGO_ID_OFFSET


def is_pending(order: SimOrder) -> bool:
    """An untriggered stop: an algo order only, invisible to the regular order endpoints."""
    return order.is_stop and not order.triggered


def binance_type(order: SimOrder) -> str:
    """The order type on regular endpoints: a triggered stop trades as MARKET / LIMIT."""
    return TRIGGERED_TYPES[order.order_type] if order.is_stop else order.order_type


def status(order: SimOrder) -> str:
    if order.triggered:
        return "TRIGGERED" if order.is_open else "FINISHED"
    return "NEW" if order.is_open else order.status


def parse_new(call: Call, symbols: Container[str]) -> dict[str, Any]:
    """``POST /fapi/v1/algoOrder`` parameters -> ``SimExchange.place_order`` keyword arguments."""
    symbol = call.required("symbol")
    if symbol not in symbols:
        raise errors.bad_symbol()
    if call.required("algoType") != "CONDITIONAL":
        raise BinanceApiError(-1130, "Invalid data sent for a parameter. algoType must be CONDITIONAL.")
    side = call.required("side")
    if side not in SIDES:
        raise errors.invalid_side()
    order_type = ALGO_TYPES.get(call.required("type"))
    if order_type is None:
        raise errors.not_simulated(f"Conditional order type {call.required('type')} is not simulated "
                                   "(STOP_MARKET and STOP are).")
    if (call.get("closePosition") or "false").lower() == "true":
        raise errors.not_simulated("closePosition conditional orders are not simulated.")
    time_in_force = call.get("timeInForce") or "GTC"
    if time_in_force not in ("GTC", "IOC", "FOK", "GTD"):
        raise errors.invalid_time_in_force()
    return {
        "symbol": symbol,
        "side": side,
        "order_type": order_type,
        "quantity": decimal_param(call, "quantity", required=True),
        "price": decimal_param(call, "price", required=order_type == "STOP_LIMIT"),
        "trigger_price": decimal_param(call, "triggerPrice", required=True),
        "time_in_force": "GTC" if time_in_force == "GTD" else time_in_force,
        "reduce_only": (call.get("reduceOnly") or "false").lower() == "true",
        "client_order_id": call.get("clientAlgoId"),
    }


def order_reference(call: Call) -> tuple[int | None, str | None]:
    """``algoId`` -> the core order id, or ``clientAlgoId``; -1102 when neither is given."""
    raw_id = call.integer("algoId")
    client_id = call.get("clientAlgoId")
    if raw_id is None and client_id is None:
        raise errors.missing_parameter("algoId")
    return (raw_id - ALGO_ID_OFFSET if raw_id is not None else None), client_id
