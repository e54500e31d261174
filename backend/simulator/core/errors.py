"""Venue-neutral reasons the simulator refuses a request; each venue module maps ``kind`` to its own error codes."""

from __future__ import annotations

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


class SimError(Exception):
    """A refused request. Nothing in the exchange changed when this is raised.

    ``field`` names the offending request field (``"quantity"``, ``"price"``, ``"trigger_price"``, ``"symbol"``,
    ``"client_order_id"`` ...) when there is one; ``message`` starts with it (``"quantity: below min quantity 0.001"``).
    """

    __slots__ = ("kind", "message", "field")

    def __init__(self, kind: SimErrorKind, message: str, field: str | None = None) -> None:
        if kind not in SIM_ERROR_KINDS:
            raise ValueError(f"unknown SimError kind {kind!r}")
        self.kind = kind
        self.field = field
        self.message = f"{field}: {message}" if field else message
        super().__init__(f"{kind}: {self.message}")
