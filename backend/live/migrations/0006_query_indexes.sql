-- Indexes matching the listings' and the API's sort orders, so the newest rows come from an index in order instead of
-- a sort of the whole table (live fills sorted 200k fills on ts_event_ns: 107 ms). EXPLAIN checks:
-- tests/live/test_partitioning.py.

-- live fills (per trader, newest first, trade id breaking ties)
CREATE INDEX fills_trader_time_ns ON fills (trader_id, ts_event_ns DESC, trade_id DESC);
-- GET /api/fills: keyset pages by (ts_event_ns, event_id), one trader or all
CREATE INDEX fills_trader_page ON fills (trader_id, ts_event_ns DESC, event_id DESC);
CREATE INDEX fills_page ON fills (ts_event_ns DESC, event_id DESC);
-- live orders (per trader, newest first by first event)
CREATE INDEX unified_orders_trader_first ON unified_orders (trader_id, first_event_ns DESC, client_order_id DESC);
-- GET /api/orders: keyset pages by (last_event_ns, trader_id, client_order_id), one trader or all
CREATE INDEX unified_orders_trader_page ON unified_orders (trader_id, last_event_ns DESC, client_order_id DESC);
CREATE INDEX unified_orders_page ON unified_orders (last_event_ns DESC, trader_id DESC, client_order_id DESC);
-- live positions (per trader, most recently updated first)
CREATE INDEX unified_positions_trader_updated ON unified_positions (trader_id, updated_ns DESC, canonical_id);
