"""Warm start: what the OMS recorded, restored into NautilusTrader's cache before its start-up reconciliation.

Without Redis NautilusTrader 1.231.0 starts with an empty cache. Its reconciliation then meets every order a venue
reports as a stranger (an EXTERNAL order), fills the gap between a reported filled quantity and the fills it has
with *inferred* fills (made-up trade ids, no commission), aligns positions with synthetic orders, and its Binance
adapter asks the venue only about the symbols in that empty cache (so orders that filled while the node was down are
never asked about). Restoring first makes reconciliation match the venue's reports to known orders by id and apply
only the fills that are really missing.

Restored: every order still open in ``unified_orders`` and every order with an event inside the reconciliation
lookback (rebuilt from their ``order_events``, inferred fills left out), and every position, rebuilt from the venue
trades in ``fills`` (their ``OrderFilled`` payloads) in trade order, as NautilusTrader's execution engine builds them
(NETTING: a fill after a close snapshots the closed position and opens a new one). Accounts are not restored: each
execution client publishes the venue's account state on connect, before reconciliation, and that is the truth.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import msgspec
from nautilus_trader.cache.cache import Cache
from nautilus_trader.model.enums import OmsType
from nautilus_trader.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderDenied,
    OrderEmulated,
    OrderExpired,
    OrderFilled,
    OrderInitialized,
    OrderModifyRejected,
    OrderPendingCancel,
    OrderPendingUpdate,
    OrderRejected,
    OrderReleased,
    OrderSubmitted,
    OrderTriggered,
    OrderUpdated,
)
from nautilus_trader.model.identifiers import ClientId
from nautilus_trader.model.orders import Order
from nautilus_trader.model.orders.unpacker import OrderUnpacker
from nautilus_trader.model.position import Position

from backend.live import sql
from backend.live.oms.convert import is_inferred_fill

log = logging.getLogger(__name__)

EVENT_CLASSES: dict[str, Any] = {cls.__name__: cls for cls in (
    OrderInitialized, OrderDenied, OrderEmulated, OrderReleased, OrderSubmitted, OrderAccepted, OrderRejected,
    OrderCanceled, OrderExpired, OrderTriggered, OrderPendingUpdate, OrderPendingCancel, OrderModifyRejected,
    OrderCancelRejected, OrderUpdated, OrderFilled,
)}


@dataclass
class RestoreReport:
    orders: int = 0
    open_orders: int = 0
    positions: int = 0
    skipped_events: int = 0
    problems: list[str] = field(default_factory=list)


def rebuild_order(payloads: list[dict[str, Any]]) -> tuple[Order | None, int]:
    """An order from its stored events (``to_dict`` payloads, oldest first) and how many were skipped: inferred
    fills, repeats NautilusTrader published again on a later run (a second OrderAccepted, a trade id already
    applied) and anything else the order refuses. None without an OrderInitialized."""
    init = next((p for p in payloads if p["type"] == "OrderInitialized"), None)
    if init is None:
        return None, len(payloads)
    order = OrderUnpacker.from_init(OrderInitialized.from_dict(init))
    skipped = 0
    for payload in payloads:
        if payload is init or payload["type"] == "OrderInitialized":
            continue
        if payload["type"] == "OrderFilled" and is_inferred_fill(payload):
            skipped += 1
            continue
        try:
            order.apply(EVENT_CLASSES[payload["type"]].from_dict(payload))
        except Exception as exc:  # noqa: BLE001 - InvalidStateTrigger, KeyError (repeated trade id), ValueError
            log.debug("Warm start: %s %s not applied to %s: %s", payload["type"], payload.get("event_id"),
                      payload["client_order_id"], exc)
            skipped += 1
    return order, skipped


def rebuild_positions(fills: Iterable[dict[str, Any]], instrument_for: Any) -> tuple[list[Position], list[str]]:
    """NautilusTrader positions from venue fills (``OrderFilled`` payloads in trade order), as its execution engine
    builds them, the closed predecessors of NETTING positions first. ``instrument_for(instrument_id)`` gives the
    cache's instrument (None: the fill is reported and skipped)."""
    current: dict[str, Position] = {}
    ordered: list[Position] = []
    problems: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    for payload in fills:
        key = (payload["account_id"], payload["instrument_id"], payload["trade_id"])
        if key in seen or is_inferred_fill(payload):
            continue
        seen.add(key)
        if not payload.get("position_id"):  # NETTING's own id, as the execution engine assigns it
            payload = dict(payload, position_id=f"{payload['instrument_id']}-{payload['strategy_id']}")
        fill = OrderFilled.from_dict(payload)
        instrument = instrument_for(fill.instrument_id)
        if instrument is None:
            problems.append(f"fill {fill.trade_id} of {fill.instrument_id}: instrument not loaded, not restored")
            continue
        position = current.get(fill.position_id.value)
        if position is None or position.is_closed:
            position = Position(instrument, fill)
            current[fill.position_id.value] = position
            ordered.append(position)
        else:
            position.apply(fill)
    return ordered, problems


async def load_restorable(conn: asyncpg.Connection, trader_id: str, since_ns: int
                          ) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """The stored events of the orders to restore, per order, and the venue fills' payloads in trade order."""
    orders: dict[str, list[dict[str, Any]]] = {}
    for record in await conn.fetch(sql.SELECT_RESTORE_ORDER_EVENTS, trader_id, since_ns):
        orders.setdefault(record["client_order_id"], []).append(msgspec.json.decode(record["payload"]))
    fills = [msgspec.json.decode(r["payload"]) for r in await conn.fetch(sql.SELECT_RESTORE_FILL_EVENTS, trader_id)]
    return orders, fills


def restore_into_cache(cache: Cache, orders: dict[str, list[dict[str, Any]]], fills: list[dict[str, Any]],
                       client_for_venue: dict[str, ClientId], oms_type_for_venue: dict[str, OmsType]) -> RestoreReport:
    """Add the rebuilt orders and positions to ``cache`` (orders the cache already has are left alone)."""
    report = RestoreReport()
    for client_order_id, payloads in orders.items():
        order, skipped = rebuild_order(payloads)
        report.skipped_events += skipped
        if order is None:
            report.problems.append(f"order {client_order_id}: no OrderInitialized stored, not restored")
            continue
        if cache.order(order.client_order_id) is not None:
            continue
        venue = order.instrument_id.venue.value
        cache.add_order(order, position_id=order.position_id, client_id=client_for_venue.get(venue))
        if order.venue_order_id is not None:
            cache.add_venue_order_id(order.client_order_id, order.venue_order_id, overwrite=True)
        report.orders += 1
        report.open_orders += order.is_open
    positions, problems = rebuild_positions(fills, cache.instrument)
    report.problems += problems
    for position in positions:
        venue = position.instrument_id.venue.value
        oms_type = oms_type_for_venue.get(venue, OmsType.NETTING)
        existing = cache.position(position.id)
        if existing is not None:
            if existing.is_open:
                continue  # the cache already has it (Redis): never overwrite
            cache.snapshot_position(existing)
        cache.add_position(position, oms_type)
        cache.update_position(position)
        for client_order_id in position.client_order_ids:
            cache.add_position_id(position.id, position.instrument_id.venue, client_order_id, position.strategy_id)
        report.positions += 1
    return report
