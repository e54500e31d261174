"""The whole event pipeline of LiveTradingNode (message bus handler -> pure conversion -> batched writer) under a
burst: every event published on NautilusTrader's message bus ends up in PostgreSQL and the writer's queue drains."""

from __future__ import annotations

import json
from decimal import Decimal

from backend.live.config.loader import load_config
from backend.live.database import Database
from backend.live.trading_node import LiveTradingNode
from tests.live.order_scripts import INSTRUMENT, limit_order_events

ORDERS = 400
FILLS_PER_ORDER = 8


async def test_burst_published_on_the_message_bus_is_persisted_completely(db: Database, tmp_path) -> None:
    config_path = tmp_path / "live.json"
    config_path.write_text(json.dumps({"trader_id": "TESTER-000", "trading_node": {}}))
    live = LiveTradingNode(load_config(config_path, env={}), db)
    node = live.build()  # a TradingNode with no venue clients: only its message bus and cache are used here
    node.cache.add_instrument(INSTRUMENT)
    live.writer.start()
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
