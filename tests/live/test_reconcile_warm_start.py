"""Warm start (orders and positions rebuilt from stored events) and the fill-total cap, against real PostgreSQL."""

from __future__ import annotations

import uuid
from decimal import Decimal

from nautilus_trader.model.enums import OrderStatus

from backend.live.database import Database
from backend.live.oms.convert import convert_order_event
from backend.live.oms.writer import OmsWriter
from backend.live.reconcile.warm_start import load_restorable, rebuild_order, rebuild_positions
from tests.live.order_scripts import INSTRUMENT, REF, limit_order_lifecycle


def inferred_copy(fill: dict, qty: str) -> dict:
    """The same fill as NautilusTrader's reconciliation would invent it (UUID v5 trade id, flagged)."""
    return dict(fill, event_id=str(uuid.uuid4()), trade_id=str(uuid.uuid5(uuid.NAMESPACE_OID, fill["trade_id"])),
                last_qty=qty, reconciliation=True)


def test_an_order_is_rebuilt_from_its_events_without_inferred_fills_or_repeats() -> None:
    events = limit_order_lifecycle(1, [("0.400000", "60000.00")])
    repeated_accept = dict(events[2], event_id=str(uuid.uuid4()))
    order, skipped = rebuild_order([*events, repeated_accept, inferred_copy(events[-1], "0.600000")])
    assert order is not None
    assert order.status == OrderStatus.PARTIALLY_FILLED
    assert order.filled_qty.as_decimal() == Decimal("0.4")
    assert skipped == 2
    assert rebuild_order(events[1:]) == (None, len(events) - 1)  # no OrderInitialized: not restorable


def test_positions_are_rebuilt_from_venue_fills_once_each() -> None:
    buy = limit_order_lifecycle(2, [("1.000000", "60000.00")])[-1]
    sell = dict(limit_order_lifecycle(3, [("1.000000", "61000.00")])[-1], order_side="SELL")
    again = limit_order_lifecycle(4, [("0.500000", "62000.00")])[-1]
    fills = [dict(f, position_id="P-1") for f in (buy, dict(buy, event_id=str(uuid.uuid4())), sell, again)]
    positions, problems = rebuild_positions([*fills, inferred_copy(buy, "5.000000")], lambda _: INSTRUMENT)
    assert problems == []
    closed, reopened = positions  # NETTING: a fill after the close opens a new position
    assert closed.is_closed and closed.realized_pnl.as_decimal() > 0
    assert reopened.signed_decimal_qty() == Decimal("0.5")
    missing, problems = rebuild_positions([buy], lambda _: None)
    assert missing == [] and "instrument not loaded" in problems[0]


async def test_the_restorable_events_are_the_open_orders_and_the_venue_fills(db: Database) -> None:
    writer = OmsWriter(db.pool)
    writer.start()
    open_order = limit_order_lifecycle(5, [("0.400000", "60000.00")])
    closed_order = limit_order_lifecycle(6, [], cancel=True, ts0=1)  # closed long ago: outside the lookback
    for payload in [*open_order, *closed_order, inferred_copy(open_order[-1], "0.600000")]:
        writer.submit(convert_order_event(payload, REF))
    await writer.stop()
    async with db.pool.acquire() as conn:
        orders, fills = await load_restorable(conn, "TESTER-000", since_ns=1_000_000_000_000_000_000)
    assert set(orders) == {"O-5"} and len(orders["O-5"]) == len(open_order) + 1
    assert [f["trade_id"] for f in fills] == ["T-5-0"]  # the inferred one is no venue fill


async def test_fills_above_the_order_quantity_are_a_recorded_conflict_not_a_sum(db: Database) -> None:
    events = limit_order_lifecycle(7, [("0.600000", "60000.00"), ("0.600000", "60000.00")])
    writer = OmsWriter(db.pool)
    writer.start()
    for payload in events:
        writer.submit(convert_order_event(payload, REF))
    await writer.stop()
    row = await db.pool.fetchrow("SELECT filled_qty, quantity, status FROM unified_orders WHERE client_order_id='O-7'")
    assert (row["filled_qty"], row["status"]) == (row["quantity"], "FILLED")
    conflict = await db.pool.fetchrow("SELECT kind, oms_value, venue_value, resolved FROM reconciliation_events")
    assert dict(conflict) == {"kind": "quantity", "oms_value": "1.000000", "venue_value": "1.200000",
                              "resolved": False}
    assert await db.pool.fetchval("SELECT count(*) FROM fills WHERE client_order_id = 'O-7'") == 2  # both kept
