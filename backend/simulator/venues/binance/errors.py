"""Binance error bodies ``{"code": .., "msg": ..}`` with the HTTP status the real API answers with.

Codes and texts follow Binance's published error catalogue (spot ``/api/v3`` and USD-M ``/fapi``). A core refusal
becomes Binance's answer through one table per market keyed by the core's ``Reason`` (``SPOT_ERRORS``,
``FUTURES_ERRORS``): spot filter failures are ``-1013 Filter failure: <FILTER>``, USD-M ones have codes of their own
(``-4164`` below the minimum notional, from which reduce-only orders are exempt; ``-4023`` step size ...).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from backend.simulator.core.errors import Reason, SimError, VenueError

Market = Literal["spot", "usdt_futures"]
Action = Literal["new", "cancel", "query", "amend"]
_MANDATORY = "Mandatory parameter '{param}' was not sent, was empty/null, or malformed."


class BinanceApiError(VenueError):
    """The shared ``VenueError`` with Binance's default HTTP status, 400; ``body()`` is ``{"code", "msg"}``."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(code, msg, status)


def api_key_format_invalid() -> BinanceApiError:
    return BinanceApiError(-2014, "API-key format invalid.", 401)


def invalid_api_key() -> BinanceApiError:
    return BinanceApiError(-2015, "Invalid API-key, IP, or permissions for action.", 401)


def bad_signature() -> BinanceApiError:
    return BinanceApiError(-1022, "Signature for this request is not valid.")


def timestamp_outside_recv_window() -> BinanceApiError:
    return BinanceApiError(-1021, "Timestamp for this request is outside of the recvWindow.")


def timestamp_ahead() -> BinanceApiError:
    return BinanceApiError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")


def recv_window_too_large() -> BinanceApiError:
    return BinanceApiError(-1131, "recvWindow must be less than 60000")


def missing_parameter(name: str) -> BinanceApiError:
    return BinanceApiError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def malformed_parameter(name: str) -> BinanceApiError:
    return BinanceApiError(-1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'.")


def invalid_side() -> BinanceApiError:
    return BinanceApiError(-1117, "Invalid side.")


def invalid_order_type() -> BinanceApiError:
    return BinanceApiError(-1116, "Invalid orderType.")


def invalid_time_in_force() -> BinanceApiError:
    return BinanceApiError(-1115, "Invalid timeInForce.")


def bad_symbol() -> BinanceApiError:
    return BinanceApiError(-1121, "Invalid symbol.")


def invalid_listen_key() -> BinanceApiError:
    return BinanceApiError(-1125, "This listenKey does not exist.")


def unknown_order(action: Action) -> BinanceApiError:
    """Cancel/amend answer -2011 ``Unknown order sent.``; a query answers -2013 ``Order does not exist.``."""
    if action == "query":
        return BinanceApiError(-2013, "Order does not exist.")
    return BinanceApiError(-2011, "Unknown order sent.")


def too_many_requests() -> BinanceApiError:
    return BinanceApiError(
        -1003, "Too many requests; current limit of IP(127.0.0.1) request weight per minute is 6000.", 429)


def ip_banned() -> BinanceApiError:
    return BinanceApiError(-1003, "Way too many requests; IP(127.0.0.1) banned.", 418)


def internal_error(status: int) -> BinanceApiError:
    return BinanceApiError(-1001, "Internal error; unable to process your request. Please try again.", status)


def unknown_error(status: int = 400) -> BinanceApiError:
    return BinanceApiError(-1000, "An unknown error occurred while processing the request.", status)


def not_simulated(msg: str) -> BinanceApiError:
    """-1000 naming what the simulator does not model (Binance itself would accept the request)."""
    return BinanceApiError(-1000, msg)


# -- core refusals ------------------------------------------------------------------------------------------------

Answer = tuple[int, str]  # (code, message); ``{param}`` = Binance's name of the field, ``{limit}`` = the bound
_FIELD_PARAMS = {"quantity": "quantity", "price": "price", "trigger_price": "stopPrice", "order_id": "orderId",
                 "client_order_id": "origClientOrderId", "symbol": "symbol", "leverage": "leverage"}

_COMMON: dict[Reason, Answer] = {
    Reason.UNKNOWN_SYMBOL: (-1121, "Invalid symbol."),
    Reason.INVALID_SIDE: (-1117, "Invalid side."),
    Reason.INVALID_ORDER_TYPE: (-1116, "Invalid orderType."),
    Reason.INVALID_TIME_IN_FORCE: (-1115, "Invalid timeInForce."),
    Reason.MISSING_QUANTITY: (-1102, _MANDATORY),
    Reason.MISSING_PRICE: (-1102, _MANDATORY),
    Reason.MISSING_TRIGGER_PRICE: (-1102, _MANDATORY),
    Reason.MISSING_ORDER_REF: (-1102, _MANDATORY),
    Reason.NOTHING_TO_AMEND: (-1102, _MANDATORY),
    Reason.POST_ONLY_NOT_ALLOWED: (-1106, "Parameter 'timeInForce' sent when not required."),
    Reason.REDUCE_ONLY_NOT_ALLOWED: (-1106, "Parameter 'reduceOnly' sent when not required."),
    Reason.WOULD_TRIGGER_IMMEDIATELY: (-2021, "Order would immediately trigger."),
    Reason.REDUCE_ONLY_REJECTED: (-2022, "ReduceOnly Order is rejected."),
    Reason.INJECTED_REJECT: (-2010, "New order rejected: simulated venue fault."),
    Reason.AMEND_QUANTITY_NOT_ABOVE_FILLED: (-1013, "Invalid quantity."),
    Reason.AMEND_PRICE_NOT_ALLOWED: (-1106, "Parameter 'price' sent when not required."),
}

SPOT_ERRORS: dict[Reason, Answer] = _COMMON | {
    Reason.NOT_POSITIVE: (-1013, "Invalid {param}."),
    Reason.PRICE_TICK: (-1013, "Filter failure: PRICE_FILTER"),
    Reason.QUANTITY_STEP: (-1013, "Filter failure: LOT_SIZE"),
    Reason.QUANTITY_BELOW_MIN: (-1013, "Filter failure: LOT_SIZE"),
    Reason.QUANTITY_ABOVE_MAX: (-1013, "Filter failure: LOT_SIZE"),
    Reason.NOTIONAL_BELOW_MIN: (-1013, "Filter failure: NOTIONAL"),
    Reason.DUPLICATE_CLIENT_ORDER_ID: (-2010, "Duplicate order sent."),
    Reason.INSUFFICIENT_BALANCE: (-2010, "Account has insufficient balance for requested action."),
    Reason.INSUFFICIENT_MARGIN: (-2010, "Account has insufficient balance for requested action."),
    Reason.POST_ONLY_WOULD_TAKE: (-2010, "Order would immediately match and take."),
    Reason.FOK_UNFILLABLE: (-2010, "Order would not be fully filled (FOK)."),
}

FUTURES_ERRORS: dict[Reason, Answer] = _COMMON | {
    Reason.NOT_POSITIVE: (-4003, "Quantity less than or equal to zero."),
    Reason.PRICE_TICK: (-4014, "Price not increased by tick size."),
    Reason.QUANTITY_STEP: (-4023, "Qty not increased by step size."),
    Reason.QUANTITY_BELOW_MIN: (-4004, "Quantity less than min quantity."),
    Reason.QUANTITY_ABOVE_MAX: (-4005, "Quantity greater than max quantity."),
    Reason.NOTIONAL_BELOW_MIN: (-4164, "Order's notional must be no smaller than {limit} (unless you choose reduce only)."),
    Reason.DUPLICATE_CLIENT_ORDER_ID: (-4116, "ClientOrderId is duplicated."),
    Reason.INSUFFICIENT_BALANCE: (-2019, "Margin is insufficient."),
    Reason.INSUFFICIENT_MARGIN: (-2019, "Margin is insufficient."),
    Reason.POST_ONLY_WOULD_TAKE: (
        -5022, "Due to the order could not be executed as maker, the Post Only order will be rejected."),
    Reason.FOK_UNFILLABLE: (-5021, "Due to the order could not be filled immediately, the FOK order has been rejected."),
}
_FUTURES_NOT_POSITIVE = {"price": (-4001, "Price less than 0."), "trigger_price": (-4006, "Stop price less than zero.")}


def from_sim_error(error: SimError, market: Market, action: Action = "new") -> BinanceApiError:
    """The Binance answer (HTTP 400) to a core refusal, from the market's table (nothing was changed by the core)."""
    futures = market == "usdt_futures"
    reason = error.reason
    if reason in (Reason.UNKNOWN_ORDER, Reason.ORDER_CLOSED):
        return unknown_order(action)
    if reason is Reason.RATE_LIMITED:
        return too_many_requests()
    answer = (FUTURES_ERRORS if futures else SPOT_ERRORS).get(reason)
    if futures and reason is Reason.NOT_POSITIVE:
        answer = _FUTURES_NOT_POSITIVE.get(error.field or "", answer)
    if answer is None:
        return BinanceApiError(-1130, "Invalid data sent for a parameter.")
    code, template = answer
    return BinanceApiError(code, template.format(param=_FIELD_PARAMS.get(error.field or "", error.field or "unknown"),
                                                 limit=plain(error.limit)))


def plain(value: object) -> str:
    """A decimal as Binance prints it: no exponent, no trailing zeros (``100``, ``0.001``)."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return "" if value is None else str(value)
