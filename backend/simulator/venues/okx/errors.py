"""OKX v5 error codes and texts the simulator answers with, and the mapping from core reject reasons.

A core refusal becomes OKX's answer through ``ERRORS``, keyed by the core's ``Reason``. HTTP statuses follow
OKX's error-code table: authentication failures are HTTP 401 with a top-level ``code``;
trade rejections are HTTP 200 with ``code: "1"`` and the reason in ``data[].sCode`` / ``sMsg`` (order
placement, cancel, amend) or a top-level ``code`` (queries).
"""

from __future__ import annotations

from backend.simulator.core.errors import Reason, SimError, VenueError

OkxError = VenueError  # the shared error class: ``code`` a string as on the wire, ``status`` the HTTP status


# Authentication (REST, HTTP 401)
def timestamp_expired() -> OkxError:
    return OkxError("50102", "Timestamp request expired.", 401)


def missing_header(name: str) -> OkxError:
    codes = {"OK-ACCESS-KEY": "50103", "OK-ACCESS-PASSPHRASE": "50104", "OK-ACCESS-SIGN": "50106",
             "OK-ACCESS-TIMESTAMP": "50107"}
    return OkxError(codes[name], f'Request header "{name}" cannot be empty.', 401)


def wrong_passphrase() -> OkxError:
    return OkxError("50105", 'Request header "OK-ACCESS-PASSPHRASE" incorrect.', 401)


def invalid_key() -> OkxError:
    return OkxError("50111", "Invalid OK-ACCESS-KEY.", 401)


def invalid_timestamp() -> OkxError:
    return OkxError("50112", "Invalid OK-ACCESS-TIMESTAMP.", 401)


def invalid_sign() -> OkxError:
    return OkxError("50113", "Invalid signature.", 401)


# General / parameters
def json_syntax() -> OkxError:
    return OkxError("50002", "JSON syntax error", 400)


def empty_parameter(name: str) -> OkxError:
    return OkxError("50014", f"Parameter {name} can not be empty.", 400)


def parameter_error(name: str) -> OkxError:
    return OkxError("51000", f"Parameter {name} error", 400)


def rate_limited() -> OkxError:
    return OkxError("50011", "Too Many Requests", 429)


# Trade class (HTTP 200)
def instrument_not_found() -> OkxError:
    return OkxError("51001", "Instrument ID, Instrument ID code or Spread ID doesn't exist.")


def insufficient_balance(currency: str, derivative: bool) -> OkxError:
    what = "margin" if derivative else "balance"
    return OkxError("51008", f"Order failed. Insufficient {currency} {what} in account")


def order_not_found() -> OkxError:
    return OkxError("51603", "Order does not exist.")


def cancel_failed_order_gone() -> OkxError:
    return OkxError("51400", "Order cancellation failed as the order has been filled, canceled or does not exist.")


def amend_failed_order_gone() -> OkxError:
    return OkxError("51503", "Order modification failed as the order has been filled, canceled or does not exist.")


def reduce_only_rejected() -> OkxError:
    return OkxError(
        "51169",
        "Order failed because you don't have any positions in this direction for this contract to reduce or close.",
    )


def lot_size_violation(detail: str) -> OkxError:
    return OkxError("51121", f"Order quantity must be a multiple of the lot size. {detail}".strip())


def order_blocked(detail: str) -> OkxError:
    return OkxError("51009", f"Order blocked. {detail}".strip())


# WebSocket (event "error" / login): ``ws_error(*WS_INVALID_KEY)``
def ws_error(code: str, msg: str) -> OkxError:
    return OkxError(code, msg)


WS_INVALID_TIMESTAMP = ("60004", "Invalid timestamp")
WS_INVALID_KEY = ("60005", "Invalid apiKey")
WS_TIMESTAMP_EXPIRED = ("60006", "Timestamp request expired")
WS_INVALID_SIGN = ("60007", "Invalid sign")
WS_LOGIN_REQUIRED = ("60011", "Please log in")
WS_INVALID_REQUEST = ("60012", "Invalid request")
WS_INVALID_ARGS = ("60013", "Invalid args")
WS_WRONG_PASSPHRASE = ("60024", "Wrong passphrase")

# Core refusals -> OKX, one table keyed by the core's Reason (``{field}`` = OKX's name of the field)
OKX_FIELD_NAMES = {
    "quantity": "sz",
    "price": "px",
    "trigger_price": "triggerPx",
    "client_order_id": "clOrdId",
    "order_id": "ordId",
    "symbol": "instId",
    "side": "side",
    "order_type": "ordType",
    "time_in_force": "ordType",
    "post_only": "ordType",
    "reduce_only": "reduceOnly",
    "leverage": "lever",
    "notional": "sz",
}

_MIN_AMOUNT = ("51020", "Your order should meet or exceed the minimum order amount.")
_EMPTY = ("50014", "Parameter {field} can not be empty.", 400)
ERRORS: dict[Reason, tuple[str, str] | tuple[str, str, int]] = {
    Reason.UNKNOWN_SYMBOL: ("51001", "Instrument ID, Instrument ID code or Spread ID doesn't exist."),
    Reason.MISSING_QUANTITY: _EMPTY,
    Reason.MISSING_PRICE: _EMPTY,
    Reason.MISSING_TRIGGER_PRICE: _EMPTY,
    Reason.MISSING_ORDER_REF: _EMPTY,
    Reason.NOTHING_TO_AMEND: _EMPTY,
    Reason.DUPLICATE_CLIENT_ORDER_ID: ("51016", "Client order ID already exists."),
    Reason.QUANTITY_STEP: ("51121", "Order quantity must be a multiple of the lot size."),
    Reason.QUANTITY_BELOW_MIN: _MIN_AMOUNT,
    Reason.NOTIONAL_BELOW_MIN: _MIN_AMOUNT,
    Reason.QUANTITY_ABOVE_MAX: ("51202", "Market order amount exceeds the maximum amount."),
    Reason.REDUCE_ONLY_REJECTED: (
        "51169",
        "Order failed because you don't have any positions in this direction for this contract to reduce or close.",
    ),
    Reason.POST_ONLY_WOULD_TAKE: ("51000", "Parameter ordType error: the post-only order would take liquidity."),
    Reason.FOK_UNFILLABLE: ("51000", "Parameter ordType error: the fill-or-kill order cannot be filled completely."),
    Reason.INJECTED_REJECT: ("51009", "Order blocked."),
    Reason.RATE_LIMITED: ("50011", "Too Many Requests", 429),
}
_ORDER_GONE = {"cancel": cancel_failed_order_gone, "amend": amend_failed_order_gone}


def from_sim_error(error: SimError, action: str, currency: str, derivative: bool) -> OkxError:
    """The OKX answer to a core refusal. ``action`` is ``place`` / ``cancel`` / ``amend`` / ``query`` (the
    "order does not exist" code differs per action on OKX); ``currency`` is what an order would spend."""
    field = OKX_FIELD_NAMES.get(error.field or "", error.field or "")
    reason = error.reason
    if reason in (Reason.INSUFFICIENT_BALANCE, Reason.INSUFFICIENT_MARGIN):
        return insufficient_balance(currency, derivative)
    if reason in (Reason.UNKNOWN_ORDER, Reason.ORDER_CLOSED):
        return _ORDER_GONE.get(action, order_not_found)()
    answer = ERRORS.get(reason)
    if answer is None:
        return parameter_error(field)
    code, template, *status = answer
    return OkxError(code, template.format(field=field), *status)
