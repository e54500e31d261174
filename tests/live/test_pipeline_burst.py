"""The whole event pipeline of LiveTradingNode (message bus handler -> pure conversion -> batched writer), with a
node that has no venue clients: a burst where every event published on NautilusTrader's message bus ends up in
PostgreSQL and the writer's queue drains, and orders whose OrderInitialized is never published."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from nautilus_trader.model.orders import LimitOrder

from backend.live.config.loader import load_config
from backend.live.database import Database
from backend.live.trading_node import LiveTradingNode
from tests.live.order_scripts import INSTRUMENT, limit_order_events

ORDERS = 400
FILLS_PER_ORDER = 8


def pipeline(db: Database, tmp_path) -> tuple[LiveTradingNode, Any]:
    config_path = tmp_path / "live.json"
    config_path.write_text(json.dumps({"trader_id": "TESTER-000", "trading_node": {}}))
    live = LiveTradingNode(load_config(config_path, env={}), db)
    node = live.build()  # a TradingNode with no venue clients: only its message bus and cache are used here
    node.cache.add_instrument(INSTRUMENT)
    live.writer.start()
    return live, node


async def test_burst_published_on_the_message_bus_is_persisted_completely(db: Database, tmp_path) -> None:
    live, node = pipeline(db, tmp_path)
    fill = ("0.125000", "60000.00")
    events = [e for n in range(ORDERS) for e in limit_order_events(n, [fill] * FILLS_PER_ORDER)]
    for event in events:  # as the execution engine does, synchronously on the loop: the handler never waits
        node.kernel.msgbus.publish(topic=f"events.order.{event.strategy_id}", msg=event)
    assert live.writer.stats.events_received == len(events)
    await live.writer.stop()

    assert live.writer.queue_depth == 0
    assert live.writer.stats.dead_letters == 0
    assert await db.pool.fetchval("SELECT count(*) FROM order_events") == len(events)
    assert await db.pool.fetchval("SELECT count(*) FROM fills") == ORDERS * FILLS_PER_ORDER
    rows = await db.pool.fetch("SELECT status, filled_qty, avg_px, canonical_id FROM unified_orders")
    assert len(rows) == ORDERS
    assert {(r["status"], r["filled_qty"], r["avg_px"], r["canonical_id"]) for r in rows} == {
        ("FILLED", Decimal("1.000000"), Decimal("60000.00"), "BTC/USDT")
    }


async def test_an_order_whose_initialized_event_was_never_published_is_stored_complete(db: Database, tmp_path) -> None:
    """NautilusTrader creates orders itself when it reconciles ones placed elsewhere: their first event on the bus is
    OrderAccepted or OrderFilled, which carry no quantity. The row must still say what the order was."""
    live, node = pipeline(db, tmp_path)
    initialized, _submitted, accepted, filled = limit_order_events(1, [("1.000000", "60000.00")])
    node.cache.add_order(LimitOrder.create(initialized))
    for event in (accepted, filled):
        node.kernel.msgbus.publish(topic=f"events.order.{event.strategy_id}", msg=event)
    await live.writer.stop()

    row = await db.pool.fetchrow("SELECT side, order_type, quantity, price, status, filled_qty FROM unified_orders")
    assert dict(row) == {"side": "BUY", "order_type": "LIMIT", "quantity": Decimal("1.000000"),
                         "price": Decimal("60000.00"), "status": "FILLED", "filled_qty": Decimal("1.000000")}
    assert await db.pool.fetchval("SELECT count(*) FROM order_events") == 3
