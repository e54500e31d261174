"""Bybit v5 error answers: ``retCode`` / ``retMsg`` in the normal envelope, HTTP status 200.

The v5 API answers application errors (bad key, bad signature, stale timestamp, bad parameter, insufficient
balance, unknown order) with HTTP 200 and a non-zero ``retCode``; only transport-level failures use other statuses.
``from_sim_error`` turns a core refusal into Bybit's answer through one table per category keyed by the core's
``Reason`` (``SPOT_ERRORS``, ``LINEAR_ERRORS``): spot filter failures are the 1701xx codes of Bybit's v5 error page
(170136 quantity below the minimum, 170140 order value below the minimum ...), linear ones 10001 with Bybit's
wording, or 110094 below the minimum order value. Reduce-only linear orders are exempt from that minimum.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from backend.simulator.core.errors import Reason, SimError, VenueError

Category = Literal["spot", "linear"]
Action = Literal["create", "amend", "cancel"]


BybitApiError = VenueError  # the shared error class: ``code`` is Bybit's ``retCode``, ``msg`` its ``retMsg``


def parameter_error(detail: str) -> BybitApiError:
    return BybitApiError(10001, f"params error: {detail}")


def timestamp_outside_window(request_timestamp: str, server_ms: int, recv_window: str) -> BybitApiError:
    return BybitApiError(
        10002,
        "invalid request, please check your server timestamp or recv_window param. "
        f"req_timestamp[{request_timestamp}],server_timestamp[{server_ms}],recv_window[{recv_window}]",
    )


def invalid_api_key() -> BybitApiError:
    return BybitApiError(10003, "API key is invalid.")


def bad_sign(origin_string: str) -> BybitApiError:
    """Bybit echoes the string it expected to be signed (timestamp, key, window, payload: no secret in it)."""
    return BybitApiError(10004, f"error sign! origin_string[{origin_string}]")


def ws_bad_sign() -> BybitApiError:
    return BybitApiError(10004, "Invalid sign")


def ws_auth_expired() -> BybitApiError:
    return BybitApiError(10002, "Request expired")


def too_many_visits() -> BybitApiError:
    return BybitApiError(10006, "Too many visits!")


def not_authorized() -> BybitApiError:
    """A private WebSocket request (topic, order op) before a successful ``auth``."""
    return BybitApiError(10007, "Request not authorized")


def unknown_operation(op: str) -> BybitApiError:
    return BybitApiError(10404, f"op type is not found: {op}")


def unknown_order(action: Action) -> BybitApiError:
    if action == "amend":
        return BybitApiError(110001, "order not exists or too late to replace")
    return BybitApiError(110001, "order not exists or too late to cancel")


def insufficient_balance(category: Category) -> BybitApiError:
    if category == "spot":
        return BybitApiError(170131, "Insufficient balance.")
    return BybitApiError(110007, "ab not enough for new order")


Answer = tuple[int, str]  # (retCode, retMsg); ``{limit}`` = the bound, ``{asset}`` = the settlement coin

_COMMON: dict[Reason, Answer] = {
    Reason.UNKNOWN_SYMBOL: (10001, "params error: symbol invalid"),
    Reason.REDUCE_ONLY_REJECTED: (110017, "current position is zero, cannot fix reduce-only order qty"),
    Reason.INJECTED_REJECT: (10001, "params error: order rejected by simulated venue fault"),
    Reason.RATE_LIMITED: (10006, "Too many visits!"),
}

SPOT_ERRORS: dict[Reason, Answer] = _COMMON | {
    Reason.INSUFFICIENT_BALANCE: (170131, "Insufficient balance."),
    Reason.INSUFFICIENT_MARGIN: (170131, "Insufficient balance."),
    Reason.PRICE_TICK: (170134, "Order price decimal too long."),
    Reason.QUANTITY_STEP: (170137, "Order volume decimal too long"),
    Reason.QUANTITY_BELOW_MIN: (170136, "Order quantity lower than the minimum."),
    Reason.QUANTITY_ABOVE_MAX: (170135, "Order quantity too large."),
    Reason.NOTIONAL_BELOW_MIN: (170140, "Transaction amount lower than the minimum."),
    Reason.DUPLICATE_CLIENT_ORDER_ID: (170141, "Duplicate clientOrderId"),
}

LINEAR_ERRORS: dict[Reason, Answer] = _COMMON | {
    Reason.INSUFFICIENT_BALANCE: (110007, "ab not enough for new order"),
    Reason.INSUFFICIENT_MARGIN: (110007, "ab not enough for new order"),
    Reason.PRICE_TICK: (10001, "params error: price invalid"),
    Reason.QUANTITY_STEP: (10001, "params error: Qty invalid"),
    Reason.QUANTITY_BELOW_MIN: (10001, "The number of contracts exceeds minimum limit allowed"),
    Reason.QUANTITY_ABOVE_MAX: (10001, "The number of contracts exceeds maximum limit allowed: too large"),
    Reason.NOTIONAL_BELOW_MIN: (110094, "Order does not meet minimum order value {limit}{asset}"),
    Reason.DUPLICATE_CLIENT_ORDER_ID: (110072, "OrderLinkedID is duplicate"),
}


def from_sim_error(error: SimError, category: Category, action: Action = "create", asset: str = "USDT"
                   ) -> BybitApiError:
    """Bybit's answer to a core rejection (the core changed nothing when it raised): the category's table, else
    10001 ``params error`` naming what the core found wrong."""
    if error.reason in (Reason.UNKNOWN_ORDER, Reason.ORDER_CLOSED):
        return unknown_order(action)
    answer = (SPOT_ERRORS if category == "spot" else LINEAR_ERRORS).get(error.reason)
    if answer is None:
        return parameter_error(error.message)
    code, template = answer
    limit = format(error.limit.normalize(), "f") if isinstance(error.limit, Decimal) else ""
    return BybitApiError(code, template.format(limit=limit, asset=asset))
