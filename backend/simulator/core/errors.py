"""Why the simulator refuses a request, venue-neutrally (``SimError.reason``), and the one error class venues answer
with (``VenueError``).

Each venue package keeps one table keyed by ``Reason`` (``venues/<venue>/errors.py``) that turns a core refusal
into the venue's own code, message and HTTP status; nothing chooses a code by reading the core's message text.
``SimError.kind`` is the coarse category of a reason (what a venue falls back on when its table has no row).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, get_args

SimErrorKind = Literal[
    "bad_symbol",
    "bad_parameter",
    "missing_parameter",
    "filter_failure",
    "insufficient_balance",
    "unknown_order",
    "post_only_would_take",
    "reduce_only_rejected",
    "fok_unfillable",
    "injected_reject",
    "rate_limited",
]
SIM_ERROR_KINDS: tuple[str, ...] = get_args(SimErrorKind)


class Reason(StrEnum):
    """Every reason the core refuses for (the field it concerns is ``SimError.field``)."""

    UNKNOWN_SYMBOL = "unknown_symbol"
    UNKNOWN_ACCOUNT = "unknown_account"
    INVALID_SIDE = "invalid_side"
    INVALID_ORDER_TYPE = "invalid_order_type"
    INVALID_TIME_IN_FORCE = "invalid_time_in_force"
    NOT_POSITIVE = "not_positive"  # quantity, price or trigger price <= 0
    MISSING_QUANTITY = "missing_quantity"
    MISSING_PRICE = "missing_price"
    MISSING_TRIGGER_PRICE = "missing_trigger_price"
    MISSING_ORDER_REF = "missing_order_ref"  # neither order id nor client order id
    NOTHING_TO_AMEND = "nothing_to_amend"
    PRICE_TICK = "price_tick"  # price or trigger price not a multiple of the tick size
    QUANTITY_STEP = "quantity_step"  # not a multiple of the lot size
    QUANTITY_BELOW_MIN = "quantity_below_min"
    QUANTITY_ABOVE_MAX = "quantity_above_max"
    NOTIONAL_BELOW_MIN = "notional_below_min"
    POST_ONLY_NOT_ALLOWED = "post_only_not_allowed"  # post-only on anything but a GTC limit order
    REDUCE_ONLY_NOT_ALLOWED = "reduce_only_not_allowed"  # reduce-only on spot
    LEVERAGE_NOT_ALLOWED = "leverage_not_allowed"  # leverage on spot
    LEVERAGE_OUT_OF_RANGE = "leverage_out_of_range"
    EMPTY_CLIENT_ORDER_ID = "empty_client_order_id"
    DUPLICATE_CLIENT_ORDER_ID = "duplicate_client_order_id"  # an open order already has it
    WOULD_TRIGGER_IMMEDIATELY = "would_trigger_immediately"
    AMEND_QUANTITY_NOT_ABOVE_FILLED = "amend_quantity_not_above_filled"
    AMEND_PRICE_NOT_ALLOWED = "amend_price_not_allowed"  # the order type has no price
    AMEND_TRIGGER_NOT_ALLOWED = "amend_trigger_not_allowed"  # not an untriggered stop
    LIQUIDITY_BELOW_LOT = "liquidity_below_lot"
    INSUFFICIENT_BALANCE = "insufficient_balance"  # spot: the asset an order spends
    INSUFFICIENT_MARGIN = "insufficient_margin"  # perpetuals: the margin an order needs
    UNKNOWN_ORDER = "unknown_order"
    ORDER_CLOSED = "order_closed"  # filled, cancelled or expired
    POST_ONLY_WOULD_TAKE = "post_only_would_take"
    FOK_UNFILLABLE = "fok_unfillable"
    REDUCE_ONLY_REJECTED = "reduce_only_rejected"  # would not reduce the position
    INJECTED_REJECT = "injected_reject"
    RATE_LIMITED = "rate_limited"

    @property
    def kind(self) -> SimErrorKind:
        return _KINDS.get(self, "bad_parameter")


_KINDS: dict[Reason, SimErrorKind] = {
    Reason.UNKNOWN_SYMBOL: "bad_symbol",
    Reason.MISSING_QUANTITY: "missing_parameter",
    Reason.MISSING_PRICE: "missing_parameter",
    Reason.MISSING_TRIGGER_PRICE: "missing_parameter",
    Reason.MISSING_ORDER_REF: "missing_parameter",
    Reason.NOTHING_TO_AMEND: "missing_parameter",
    Reason.PRICE_TICK: "filter_failure",
    Reason.QUANTITY_STEP: "filter_failure",
    Reason.QUANTITY_BELOW_MIN: "filter_failure",
    Reason.QUANTITY_ABOVE_MAX: "filter_failure",
    Reason.NOTIONAL_BELOW_MIN: "filter_failure",
    Reason.INSUFFICIENT_BALANCE: "insufficient_balance",
    Reason.INSUFFICIENT_MARGIN: "insufficient_balance",
    Reason.UNKNOWN_ORDER: "unknown_order",
    Reason.ORDER_CLOSED: "unknown_order",
    Reason.POST_ONLY_WOULD_TAKE: "post_only_would_take",
    Reason.FOK_UNFILLABLE: "fok_unfillable",
    Reason.REDUCE_ONLY_REJECTED: "reduce_only_rejected",
    Reason.INJECTED_REJECT: "injected_reject",
    Reason.RATE_LIMITED: "rate_limited",
}


class SimError(Exception):
    """A refused request. Nothing in the exchange changed when this is raised.

    ``field`` names the offending request field (``"quantity"``, ``"price"``, ``"trigger_price"``, ``"symbol"``,
    ``"client_order_id"`` ...) when there is one; ``message`` starts with it (``"quantity: below min quantity 0.001"``).
    ``limit`` is the bound a filter failure broke (the minimum notional, the tick size ...), for venues that print it.
    """

    __slots__ = ("reason", "message", "field", "limit")

    def __init__(self, reason: Reason, message: str, field: str | None = None, limit: object = None) -> None:
        if not isinstance(reason, Reason):
            raise ValueError(f"unknown SimError reason {reason!r}")
        self.reason = reason
        self.field = field
        self.limit = limit
        self.message = f"{field}: {message}" if field else message
        super().__init__(f"{reason}: {self.message}")

    @property
    def kind(self) -> SimErrorKind:
        return self.reason.kind


class VenueError(Exception):
    """A request a venue refuses, as the venue answers it: its ``code`` (a number or, for OKX, a string), ``msg`` and
    the HTTP ``status`` of a REST answer. Nothing was changed. Each venue renders it in its own envelope."""

    def __init__(self, code: int | str, msg: str, status: int = 200) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status

    def body(self) -> dict[str, object]:
        """``{"code", "msg"}``: the error object Binance and OKX print (Bybit renders ``retCode`` / ``retMsg``)."""
        return {"code": self.code, "msg": self.msg}
