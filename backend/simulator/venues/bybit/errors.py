"""Bybit v5 error answers: ``retCode`` / ``retMsg`` in the normal envelope, HTTP status 200.

The v5 API answers application errors (bad key, bad signature, stale timestamp, bad parameter, insufficient
balance, unknown order) with HTTP 200 and a non-zero ``retCode``; only transport-level failures use other statuses.
``from_sim_error`` maps the core's venue-neutral ``SimError.kind`` onto Bybit's codes. Where spot and derivatives
differ (insufficient balance: spot 170131, linear 110007) the category decides.
"""

from __future__ import annotations

from typing import Literal

from backend.simulator.core.errors import SimError

Category = Literal["spot", "linear"]
Action = Literal["create", "amend", "cancel"]


class BybitApiError(Exception):
    """A request Bybit refuses; nothing was changed."""

    def __init__(self, ret_code: int, ret_msg: str) -> None:
        super().__init__(f"{ret_code}: {ret_msg}")
        self.ret_code = ret_code
        self.ret_msg = ret_msg


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


def from_sim_error(error: SimError, category: Category, action: Action = "create") -> BybitApiError:
    """Bybit's answer to a core rejection (the core changed nothing when it raised)."""
    kind = error.kind
    if kind == "insufficient_balance":
        return insufficient_balance(category)
    if kind == "unknown_order":
        return unknown_order(action)
    if kind == "bad_symbol":
        return parameter_error("symbol invalid")
    if kind == "reduce_only_rejected":
        return BybitApiError(110017, "current position is zero, cannot fix reduce-only order qty")
    if kind == "bad_parameter" and error.field == "client_order_id":
        return BybitApiError(110072, "OrderLinkedID is duplicate")
    if kind == "rate_limited":
        return too_many_visits()
    if kind == "injected_reject":
        return BybitApiError(10001, "params error: order rejected by simulated venue fault")
    return parameter_error(error.message)
