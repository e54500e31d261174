"""Order entry shared by REST (``POST /api/v5/trade/order|cancel-order|amend-order``) and the private WebSocket
(``op: order|cancel-order|amend-order`` and their batch forms): run one argument against the core and answer
with OKX's per-order result row (``sCode`` ``"0"`` on success, else the error and nothing changed).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from backend.simulator.core.errors import SimError
from backend.simulator.venues.okx import errors, orders
from backend.simulator.venues.okx.catalog import Listing
from backend.simulator.venues.okx.errors import OkxError
from backend.simulator.venues.okx.state import OkxVenue


def _row(venue: OkxVenue, arg: dict[str, Any], order_id: str, error: OkxError | None) -> dict[str, Any]:
    return {
        "clOrdId": arg.get("clOrdId", "") if isinstance(arg.get("clOrdId", ""), str) else "",
        "ordId": order_id,
        "tag": arg.get("tag", "") if isinstance(arg.get("tag", ""), str) else "",
        "ts": str(venue.now_ms()),
        "sCode": error.code if error else "0",
        "sMsg": error.msg if error else "Order placed",
        "subCode": "",
    }


def _spend_currency(listing: Listing, side: str) -> str:
    instrument = listing.instrument
    if listing.is_swap:
        return instrument.settlement_asset
    return instrument.quote_asset if side == "BUY" else instrument.base_asset


def place(venue: OkxVenue, account_id: str, arg: dict[str, Any]) -> dict[str, Any]:
    try:
        request = orders.parse_place(venue.catalog, arg)
    except OkxError as error:
        return _row(venue, arg, "", error)
    listing = request.listing
    exchange = venue.exchange_of(listing)
    entry = replace(request.entry, leverage=venue.leverage(listing, account_id))
    try:
        order = exchange.place_order(
            account_id,
            listing.inst_id,
            request.side,
            request.order_type,
            request.quantity,
            price=request.price,
            time_in_force=request.time_in_force,
            post_only=request.post_only,
            reduce_only=request.reduce_only,
            client_order_id=request.client_order_id,
        )
    except SimError as error:
        okx_error = errors.from_sim_error(error, "place", _spend_currency(listing, request.side), listing.is_swap)
        return _row(venue, arg, "", okx_error)
    venue.entries[(listing.market, order.order_id)] = entry
    return _row(venue, arg, str(order.order_id), None)


def cancel(venue: OkxVenue, account_id: str, arg: dict[str, Any]) -> dict[str, Any]:
    try:
        ref = orders.parse_ref(venue.catalog, arg)
        order = venue.exchange_of(ref.listing).cancel_order(
            account_id, ref.listing.inst_id, order_id=ref.order_id, client_order_id=ref.client_order_id
        )
    except OkxError as error:
        return _row(venue, arg, str(arg.get("ordId", "")), error)
    except SimError as error:
        return _row(venue, arg, str(arg.get("ordId", "")), errors.from_sim_error(error, "cancel", "", False))
    row = _row(venue, arg, str(order.order_id), None)
    row["sMsg"] = "Cancellation succeeded"
    return row


def amend(venue: OkxVenue, account_id: str, arg: dict[str, Any]) -> dict[str, Any]:
    try:
        request = orders.parse_amend(venue.catalog, arg)
    except OkxError as error:
        return _row(venue, arg, str(arg.get("ordId", "")), error)
    ref = request.ref
    listing = ref.listing
    exchange = venue.exchange_of(listing)
    try:
        existing = exchange.get_order(account_id, listing.inst_id, ref.order_id, ref.client_order_id)
    except SimError as error:
        return _row(venue, arg, str(arg.get("ordId", "")), errors.from_sim_error(error, "amend", "", listing.is_swap))
    key = (listing.market, existing.order_id)
    previous_entry = venue.entries.get(key)
    venue.entries[key] = replace(venue.entry(*key), request_id=request.request_id)
    try:
        order = exchange.amend_order(
            account_id,
            listing.inst_id,
            order_id=existing.order_id,
            quantity=request.new_quantity,
            price=request.new_price,
        )
    except SimError as error:
        if previous_entry is None:
            del venue.entries[key]
        else:
            venue.entries[key] = previous_entry
        okx_error = errors.from_sim_error(error, "amend", _spend_currency(listing, existing.side), listing.is_swap)
        return _row(venue, arg, str(existing.order_id), okx_error)
    row = _row(venue, arg, str(order.order_id), None)
    row["reqId"] = request.request_id
    row["sMsg"] = ""
    return row


OPERATIONS = {"order": place, "cancel-order": cancel, "amend-order": amend}
BATCH_OPERATIONS = {"batch-orders": place, "batch-cancel-orders": cancel, "batch-amend-orders": amend}


def envelope_code(rows: list[dict[str, Any]]) -> str:
    """``"0"`` all succeeded, ``"1"`` all failed, ``"2"`` some failed (OKX's batch convention)."""
    failed = sum(1 for row in rows if row["sCode"] != "0")
    if failed == 0:
        return "0"
    return "1" if failed == len(rows) else "2"
