"""Pure conversion of NautilusTrader order events into unified OMS rows (no I/O).

The input is the event's ``to_dict`` form, the same JSON that is stored in ``order_events.payload``, so a captured
log can be replayed through exactly the code the live pipeline runs.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import msgspec

from backend.live.models import FillRow, OrderChange, OrderEventRow
from backend.live.timeutil import ns_to_datetime


class InstrumentRef(msgspec.Struct, frozen=True):
    """What the OMS needs to know of an instrument to file its orders and fills."""

    instrument_id: str
    canonical_id: str
    venue: str  # unified venue (BINANCE, BYBIT, OKX)
    multiplier: Decimal  # base units per venue quantity unit (OKX swap: ctVal; spot and linear: 1)


class ConvertedEvent(msgspec.Struct, frozen=True):
    event: OrderEventRow
    change: OrderChange
    fill: FillRow | None


class UnsupportedEvent(ValueError):
    """An event type the OMS does not know; carries the type name so the pipeline can log it."""


TERMINAL_RANK = 100

# Statuses in lifecycle order: a late event never moves an order to a lower rank.
_LIFECYCLE: dict[str, tuple[str, int]] = {
    "OrderInitialized": ("INITIALIZED", 0),
    "OrderEmulated": ("EMULATED", 10),
    "OrderReleased": ("RELEASED", 20),
    "OrderSubmitted": ("SUBMITTED", 30),
    "OrderAccepted": ("ACCEPTED", 40),
    "OrderTriggered": ("TRIGGERED", 45),
    "OrderFilled": ("PARTIALLY_FILLED", 50),  # FILLED is decided from the fills table
    "OrderDenied": ("DENIED", TERMINAL_RANK),
    "OrderRejected": ("REJECTED", TERMINAL_RANK),
    "OrderCanceled": ("CANCELED", TERMINAL_RANK),
    "OrderExpired": ("EXPIRED", TERMINAL_RANK),
}
# Events that set (or clear, None) the transient PENDING_UPDATE / PENDING_CANCEL state.
_PENDING: dict[str, str | None] = {
    "OrderPendingUpdate": "UPDATE",
    "OrderPendingCancel": "CANCEL",
    "OrderUpdated": None,
    "OrderModifyRejected": None,
    "OrderCancelRejected": None,
}
ORDER_EVENT_TYPES = frozenset(_LIFECYCLE) | frozenset(_PENDING)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _money(value: str) -> tuple[Decimal, str]:
    """'0.10000000 USDT' -> (Decimal('0.10000000'), 'USDT')."""
    amount, _, currency = value.partition(" ")
    return Decimal(amount), currency


def is_inferred_fill(payload: dict[str, Any]) -> bool:
    """Whether an ``OrderFilled`` is one NautilusTrader made up rather than a venue trade.

    Its reconciliation invents a fill when a venue reports more filled quantity than it has fills for
    (``create_inferred_order_filled_event``) and when it aligns a position with the venue's (a synthetic order filled
    the same way). Both are flagged ``reconciliation`` and carry a UUID version 5 trade id derived from the order
    (``create_inferred_reconciliation_trade_id``); real fills found by reconciliation carry the venue's trade id,
    which no supported venue prints as a version-5 UUID. A fill without a trade id is no venue trade either.
    (Guarded by tests/live/test_oms_convert.py against an upgrade changing the id scheme.)
    """
    trade_id = payload.get("trade_id")
    if not trade_id:
        return True
    if not payload.get("reconciliation"):
        return False
    try:
        return uuid.UUID(trade_id).version == 5
    except ValueError:
        return False


def convert_order_event(payload: dict[str, Any], instrument: InstrumentRef) -> ConvertedEvent:
    """The rows one order event produces: its log row, the change to its order row and, for a venue's fill, the fill.

    An inferred fill (``is_inferred_fill``) is logged in ``order_events`` only: it changes neither the order's status
    nor its fill totals, and becomes no ``fills`` row; the venue audit records it and adds the venue's real trade.
    """
    event_type = payload["type"]
    if event_type not in ORDER_EVENT_TYPES:
        raise UnsupportedEvent(event_type)
    if payload["instrument_id"] != instrument.instrument_id:
        raise ValueError(
            f"{event_type} {payload['event_id']} is for {payload['instrument_id']}, "
            f"not {instrument.instrument_id}"
        )
    trader_id = payload["trader_id"]
    client_order_id = payload["client_order_id"]
    ts_event_ns = int(payload.get("ts_event", payload["ts_init"]))
    ts_event = ns_to_datetime(ts_event_ns)

    event_row = OrderEventRow(
        trader_id=trader_id,
        event_id=payload["event_id"],
        client_order_id=client_order_id,
        event_type=event_type,
        ts_event=ts_event,
        ts_event_ns=ts_event_ns,
        ts_init_ns=int(payload["ts_init"]),
        payload=msgspec.json.encode(payload).decode(),
    )

    inferred = event_type == "OrderFilled" and is_inferred_fill(payload)
    status, rank = (None, -1) if inferred else _LIFECYCLE.get(event_type, (None, -1))
    is_initialized = event_type == "OrderInitialized"
    is_updated = event_type == "OrderUpdated"
    options = payload.get("options") or {}
    change = OrderChange(
        trader_id=trader_id,
        client_order_id=client_order_id,
        venue_order_id=payload.get("venue_order_id"),
        strategy_id=payload.get("strategy_id"),
        venue=instrument.venue,
        account_id=payload.get("account_id"),
        instrument_id=instrument.instrument_id,
        canonical_id=instrument.canonical_id,
        side=payload["order_side"] if is_initialized else None,
        order_type=payload["order_type"] if is_initialized else None,
        time_in_force=payload["time_in_force"] if is_initialized else None,
        quantity=_decimal(payload.get("quantity")) if (is_initialized or is_updated) else None,
        price=_decimal(options.get("price") if is_initialized else payload.get("price")),
        trigger_price=_decimal(options.get("trigger_price") if is_initialized else payload.get("trigger_price")),
        reduce_only=payload["reduce_only"] if is_initialized else None,
        post_only=payload["post_only"] if is_initialized else None,
        lifecycle_status=status,
        lifecycle_rank=rank,
        pending_action=_PENDING.get(event_type),
        pending_ns=ts_event_ns if event_type in _PENDING else 0,
        reason=payload.get("reason"),
        first_event_at=ts_event,
        first_event_ns=ts_event_ns,
        last_event_at=ts_event,
        last_event_ns=ts_event_ns,
        updated_ns=ts_event_ns if is_updated else 0,
    )

    fill = None
    if event_type == "OrderFilled" and not inferred:
        quantity = Decimal(payload["last_qty"])
        commission, commission_currency = _money(payload["commission"])
        fill = FillRow(
            trader_id=trader_id,
            venue=instrument.venue,
            account_id=payload["account_id"],
            instrument_id=instrument.instrument_id,
            trade_id=payload["trade_id"],
            client_order_id=client_order_id,
            venue_order_id=payload.get("venue_order_id"),
            strategy_id=payload.get("strategy_id"),
            canonical_id=instrument.canonical_id,
            side=payload["order_side"],
            quantity=quantity,
            base_quantity=quantity * instrument.multiplier,
            price=Decimal(payload["last_px"]),
            commission=commission,
            commission_currency=commission_currency,
            liquidity_side=payload["liquidity_side"],
            event_id=payload["event_id"],
            ts_event=ts_event,
            ts_event_ns=ts_event_ns,
        )
    return ConvertedEvent(event=event_row, change=change, fill=fill)


def merge_changes(older: OrderChange, newer: OrderChange) -> OrderChange:
    """Two changes of one order as one, by the rules ``sql.APPLY_ORDER_CHANGES`` applies to a stored row:
    static fields keep their first value, the venue order id and flags their latest, quantity and prices follow the
    newest OrderUpdated, the lifecycle only moves up in rank, the pending state follows its newest event."""
    updated_wins = newer.updated_ns > older.updated_ns
    pending_wins = newer.pending_ns > 0 and newer.pending_ns >= older.pending_ns
    rank_wins = newer.lifecycle_rank > older.lifecycle_rank
    first = older if older.first_event_ns <= newer.first_event_ns else newer
    last = newer if newer.last_event_ns >= older.last_event_ns else older

    def first_of(field: str) -> object:
        value = getattr(older, field)
        return value if value is not None else getattr(newer, field)

    def latest_of(field: str) -> object:
        value = getattr(newer, field)
        return value if value is not None else getattr(older, field)

    def updated_of(field: str) -> object:
        return latest_of(field) if updated_wins else first_of(field)

    return msgspec.structs.replace(
        older,
        venue_order_id=latest_of("venue_order_id"),
        strategy_id=first_of("strategy_id"),
        account_id=first_of("account_id"),
        side=first_of("side"),
        order_type=first_of("order_type"),
        time_in_force=first_of("time_in_force"),
        reduce_only=first_of("reduce_only"),
        post_only=first_of("post_only"),
        quantity=updated_of("quantity"),
        price=updated_of("price"),
        trigger_price=updated_of("trigger_price"),
        updated_ns=max(older.updated_ns, newer.updated_ns),
        lifecycle_status=newer.lifecycle_status if rank_wins else older.lifecycle_status,
        lifecycle_rank=max(older.lifecycle_rank, newer.lifecycle_rank),
        pending_action=newer.pending_action if pending_wins else older.pending_action,
        pending_ns=max(older.pending_ns, newer.pending_ns),
        reason=latest_of("reason"),
        first_event_at=first.first_event_at,
        first_event_ns=first.first_event_ns,
        last_event_at=last.last_event_at,
        last_event_ns=last.last_event_ns,
    )


def fold_changes(changes: list[OrderChange]) -> list[OrderChange]:
    """One change per (trader, order), in first-seen order, so a batch upserts each order row once."""
    folded: dict[tuple[str, str], OrderChange] = {}
    for change in changes:
        key = (change.trader_id, change.client_order_id)
        previous = folded.get(key)
        folded[key] = change if previous is None else merge_changes(previous, change)
    return list(folded.values())
