"""Order-entry arguments of OKX (REST ``/api/v5/trade/*`` bodies and private-WebSocket ``op`` args), validated and
translated to the core's terms. Pure: no I/O, no exchange calls.

``OrderEntry`` keeps what OKX echoes back but the core does not model (``tdMode``, ``tag``, ``tgtCcy``, ``ccy``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from backend.simulator.core.orders import SimOrder
from backend.simulator.venues.okx import errors
from backend.simulator.venues.okx.catalog import Catalog, Listing

# OKX ordType -> (core order type, time in force, post only)
ORDER_TYPES: dict[str, tuple[str, str, bool]] = {
    "market": ("MARKET", "GTC", False),
    "limit": ("LIMIT", "GTC", False),
    "post_only": ("LIMIT", "GTX", True),
    "fok": ("LIMIT", "FOK", False),
    "ioc": ("LIMIT", "IOC", False),
    "optimal_limit_ioc": ("MARKET", "IOC", False),
}
SPOT_TRADE_MODES = frozenset(("cash",))
SWAP_TRADE_MODES = frozenset(("cross", "isolated"))


@dataclass(frozen=True, slots=True)
class OrderEntry:
    """Request details OKX echoes in order payloads."""

    trade_mode: str
    tag: str = ""
    target_currency: str = ""
    margin_currency: str = ""
    leverage: str = ""
    request_id: str = ""


@dataclass(frozen=True, slots=True)
class PlaceRequest:
    listing: Listing
    side: str
    order_type: str
    time_in_force: str
    post_only: bool
    quantity: Decimal
    price: Decimal | None
    reduce_only: bool
    client_order_id: str | None
    entry: OrderEntry


@dataclass(frozen=True, slots=True)
class OrderRef:
    """Which order a cancel / amend / query means: ``ordId`` wins over ``clOrdId`` as on OKX."""

    listing: Listing
    order_id: int | None
    client_order_id: str | None


@dataclass(frozen=True, slots=True)
class AmendRequest:
    ref: OrderRef
    new_quantity: Decimal | None
    new_price: Decimal | None
    request_id: str


def _string(arg: dict[str, Any], name: str) -> str:
    value = arg.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise errors.parameter_error(name)
    return value


def _required_decimal(arg: dict[str, Any], name: str) -> Decimal:
    value = _decimal(arg, name)
    if value is None:
        raise errors.empty_parameter(name)
    return value


def _decimal(arg: dict[str, Any], name: str) -> Decimal | None:
    """A positive decimal parameter, or None when absent / empty."""
    raw = _string(arg, name)
    if raw == "":
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise errors.parameter_error(name) from None
    if not value.is_finite() or value <= 0:
        raise errors.parameter_error(name)
    return value


def _boolean(arg: dict[str, Any], name: str) -> bool:
    value = arg.get(name, False)
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    if value in ("", None):
        return False
    raise errors.parameter_error(name)


def resolve_listing(catalog: Catalog, arg: dict[str, Any]) -> Listing:
    """The instrument named by ``instIdCode`` (takes precedence, as on OKX) or ``instId``."""
    code = arg.get("instIdCode")
    if code not in (None, ""):
        try:
            listing = catalog.by_code(int(code))
        except (TypeError, ValueError):
            raise errors.parameter_error("instIdCode") from None
        if listing is None:
            raise errors.instrument_not_found()
        return listing
    inst_id = _string(arg, "instId")
    if inst_id == "":
        raise errors.empty_parameter("instId")
    listing = catalog.by_inst_id(inst_id)
    if listing is None:
        raise errors.instrument_not_found()
    return listing


def parse_place(catalog: Catalog, arg: dict[str, Any]) -> PlaceRequest:
    listing = resolve_listing(catalog, arg)
    trade_mode = _string(arg, "tdMode")
    if trade_mode == "":
        raise errors.empty_parameter("tdMode")
    if trade_mode not in (SWAP_TRADE_MODES if listing.is_swap else SPOT_TRADE_MODES):
        raise errors.parameter_error("tdMode")
    side = _string(arg, "side")
    if side not in ("buy", "sell"):
        raise errors.empty_parameter("side") if side == "" else errors.parameter_error("side")
    okx_type = _string(arg, "ordType")
    if okx_type not in ORDER_TYPES:
        raise errors.empty_parameter("ordType") if okx_type == "" else errors.parameter_error("ordType")
    order_type, time_in_force, post_only = ORDER_TYPES[okx_type]
    quantity = _required_decimal(arg, "sz")
    price = _required_decimal(arg, "px") if order_type == "LIMIT" else None
    target_currency = _string(arg, "tgtCcy")
    if not listing.is_swap and order_type == "MARKET" and side == "buy" and target_currency != "base_ccy":
        # OKX reads a spot market buy's sz in quote currency unless tgtCcy=base_ccy; the core fills base quantities.
        raise errors.OkxError(
            "51000", "Parameter tgtCcy error: the simulator takes spot market buys in base currency (tgtCcy=base_ccy)"
        )
    client_order_id = _string(arg, "clOrdId") or None
    entry = OrderEntry(
        trade_mode=trade_mode,
        tag=_string(arg, "tag"),
        target_currency=target_currency,
        margin_currency=_string(arg, "ccy"),
    )
    return PlaceRequest(
        listing=listing,
        side=side.upper(),
        order_type=order_type,
        time_in_force=time_in_force,
        post_only=post_only,
        quantity=quantity,
        price=price,
        reduce_only=_boolean(arg, "reduceOnly"),
        client_order_id=client_order_id,
        entry=entry,
    )


def parse_ref(catalog: Catalog, arg: dict[str, Any]) -> OrderRef:
    listing = resolve_listing(catalog, arg)
    raw_order_id = _string(arg, "ordId")
    client_order_id = _string(arg, "clOrdId") or None
    if raw_order_id == "" and client_order_id is None:
        raise errors.OkxError("51003", "Either client order ID or order ID is required.")
    order_id = None
    if raw_order_id:
        try:
            order_id = int(raw_order_id)
        except ValueError:
            raise errors.parameter_error("ordId") from None
    return OrderRef(listing, order_id, None if order_id is not None else client_order_id)


def parse_amend(catalog: Catalog, arg: dict[str, Any]) -> AmendRequest:
    ref = parse_ref(catalog, arg)
    new_quantity = _decimal(arg, "newSz")
    new_price = _decimal(arg, "newPx")
    if new_quantity is None and new_price is None:
        raise errors.OkxError("51000", "Parameter newSz or newPx error")
    return AmendRequest(ref, new_quantity, new_price, _string(arg, "reqId"))


def is_waiting_algo(order: SimOrder) -> bool:
    """An OKX algo (trigger) order that has not triggered: not a regular order yet (see ``algo.py``)."""
    return order.is_stop and not order.triggered and order.is_open
