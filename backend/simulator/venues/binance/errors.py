"""Binance error bodies ``{"code": .., "msg": ..}`` with the HTTP status the real API answers with.

Codes and texts follow Binance's published error catalogue (spot ``/api/v3`` and USD-M ``/fapi``). Where the two
APIs differ for the same cause (insufficient funds, post-only, FOK), the market decides. ``from_sim_error`` maps the
core's venue-neutral ``SimError.kind`` onto these.
"""

from __future__ import annotations

from typing import Literal

from backend.simulator.core.errors import SimError

Market = Literal["spot", "usdt_futures"]
Action = Literal["new", "cancel", "query", "amend"]


class BinanceApiError(Exception):
    """A request Binance refuses: the body is ``{"code", "msg"}``, ``status`` the HTTP status."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


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


def from_sim_error(error: SimError, market: Market, action: Action = "new") -> BinanceApiError:
    """The Binance answer to a core rejection (nothing was changed by the core when it raised)."""
    futures = market == "usdt_futures"
    kind = error.kind
    if kind == "bad_symbol":
        return bad_symbol()
    if kind == "missing_parameter":
        return missing_parameter(_parameter_name(error))
    if kind == "bad_parameter":
        return _bad_parameter(error)
    if kind == "filter_failure":
        return BinanceApiError(-1013, _filter_message(error))
    if kind == "insufficient_balance":
        if futures:
            return BinanceApiError(-2019, "Margin is insufficient.")
        return BinanceApiError(-2010, "Account has insufficient balance for requested action.")
    if kind == "unknown_order":
        return unknown_order(action)
    if kind == "post_only_would_take":
        if futures:
            return BinanceApiError(
                -5022, "Due to the order could not be executed as maker, the Post Only order will be rejected."
            )
        return BinanceApiError(-2010, "Order would immediately match and take.")
    if kind == "reduce_only_rejected":
        return BinanceApiError(-2022, "ReduceOnly Order is rejected.")
    if kind == "fok_unfillable":
        if futures:
            return BinanceApiError(
                -5021, "Due to the order could not be filled immediately, the FOK order has been rejected."
            )
        return BinanceApiError(-2010, "Order would not be fully filled (FOK).")
    if kind == "injected_reject":
        return BinanceApiError(-2010, "New order rejected: simulated venue fault.")
    if kind == "rate_limited":
        return too_many_requests()
    return unknown_error()


def _bad_parameter(error: SimError) -> BinanceApiError:
    field = error.field
    if field == "client_order_id":
        return BinanceApiError(-2010, "Duplicate order sent.")
    if field == "trigger_price" and "trigger" in error.message:
        return BinanceApiError(-2021, "Order would immediately trigger.")
    if field == "quantity":
        return BinanceApiError(-1013, "Invalid quantity.")
    if field == "price":
        return BinanceApiError(-1013, "Invalid price.")
    if field in ("reduce_only", "post_only"):
        name = "reduceOnly" if field == "reduce_only" else "timeInForce"
        return BinanceApiError(-1106, f"Parameter '{name}' sent when not required.")
    return BinanceApiError(-1130, "Invalid data sent for a parameter.")


def _parameter_name(error: SimError) -> str:
    """The core names the field first in its message (``"quantity: ..."``); fall back to the whole message."""
    names = {"order_id": "orderId", "client_order_id": "origClientOrderId", "trigger_price": "stopPrice"}
    return names.get(error.field or "", error.field or "unknown")


def _filter_message(error: SimError) -> str:
    """``Filter failure: LOT_SIZE`` etc., Binance's own wording, chosen from the core's field name."""
    field = error.field or ""
    if field == "notional":
        return "Filter failure: NOTIONAL"
    if field in ("price", "trigger_price"):
        return "Filter failure: PRICE_FILTER"
    return "Filter failure: LOT_SIZE"
