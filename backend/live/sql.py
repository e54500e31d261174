"""Every SQL statement of the live layer, in one place (asyncpg, raw SQL, $n parameters)."""

# --- migrations -------------------------------------------------------------------------------------------------

MIGRATION_LOCK_KEY = 0x4C49_5645  # "LIVE": the advisory lock every migrator takes

ADVISORY_LOCK = "SELECT pg_advisory_lock($1)"
ADVISORY_UNLOCK = "SELECT pg_advisory_unlock($1)"

CREATE_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""
SELECT_APPLIED_MIGRATIONS = "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
INSERT_MIGRATION = "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)"

# --- reference data -----------------------------------------------------------------------------------------------

UPSERT_ACCOUNT = """
INSERT INTO accounts (trader_id, account_id, venue, account_type, venue_type, client_name, margin_model, base_currency)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (trader_id, account_id) DO UPDATE SET
    venue = EXCLUDED.venue,
    account_type = EXCLUDED.account_type,
    venue_type = EXCLUDED.venue_type,
    client_name = COALESCE(EXCLUDED.client_name, accounts.client_name),
    margin_model = COALESCE(EXCLUDED.margin_model, accounts.margin_model),
    base_currency = COALESCE(EXCLUDED.base_currency, accounts.base_currency)
"""

UPSERT_INSTRUMENT = """
INSERT INTO instruments (trader_id, instrument_id, canonical_id, venue, venue_symbol, kind, base_currency,
    quote_currency, settle_currency, is_inverse, contract_multiplier, price_increment, size_increment,
    min_quantity, min_notional, expiry)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
ON CONFLICT (trader_id, instrument_id) DO UPDATE SET
    canonical_id = EXCLUDED.canonical_id, venue = EXCLUDED.venue, venue_symbol = EXCLUDED.venue_symbol,
    kind = EXCLUDED.kind, base_currency = EXCLUDED.base_currency, quote_currency = EXCLUDED.quote_currency,
    settle_currency = EXCLUDED.settle_currency, is_inverse = EXCLUDED.is_inverse,
    contract_multiplier = EXCLUDED.contract_multiplier, price_increment = EXCLUDED.price_increment,
    size_increment = EXCLUDED.size_increment, min_quantity = EXCLUDED.min_quantity,
    min_notional = EXCLUDED.min_notional, expiry = EXCLUDED.expiry, updated_at = now()
"""

# --- order events -------------------------------------------------------------------------------------------------
# A batch is COPYed into per-connection temporary staging tables (emptied at commit), then moved into the real tables
# with INSERT ... SELECT ... ON CONFLICT: COPY's speed with an upsert's idempotency.

CREATE_STAGING_TABLES = """
CREATE TEMP TABLE IF NOT EXISTS stage_order_events (LIKE order_events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_fills (LIKE fills) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_order_changes (
    trader_id text, client_order_id text, venue_order_id text, strategy_id text, venue text, account_id text,
    instrument_id text, canonical_id text, side text, order_type text, time_in_force text, quantity numeric,
    price numeric, trigger_price numeric, reduce_only boolean, post_only boolean, lifecycle_status text,
    lifecycle_rank smallint, pending_action text, pending_ns bigint, reason text, first_event_at timestamptz,
    first_event_ns bigint, last_event_at timestamptz, last_event_ns bigint, updated_ns bigint
) ON COMMIT DELETE ROWS;
"""
STAGE_ORDER_EVENTS = "stage_order_events"
STAGE_ORDER_EVENT_COLUMNS = (
    "trader_id", "event_id", "client_order_id", "event_type", "ts_event", "ts_event_ns", "ts_init_ns", "payload",
)
STAGE_FILLS = "stage_fills"
STAGE_FILL_COLUMNS = (  # models.FillRow's fields, in order
    "trader_id", "venue", "account_id", "instrument_id", "trade_id", "client_order_id", "venue_order_id", "strategy_id",
    "canonical_id", "side", "quantity", "base_quantity", "price", "commission", "commission_currency", "liquidity_side",
    "event_id", "ts_event", "ts_event_ns",
)
STAGE_ORDER_CHANGES = "stage_order_changes"
STAGE_ORDER_CHANGE_COLUMNS = (  # models.OrderChange's fields, in order
    "trader_id", "client_order_id", "venue_order_id", "strategy_id", "venue", "account_id", "instrument_id",
    "canonical_id", "side", "order_type", "time_in_force", "quantity", "price", "trigger_price", "reduce_only",
    "post_only", "lifecycle_status", "lifecycle_rank", "pending_action", "pending_ns", "reason", "first_event_at",
    "first_event_ns", "last_event_at", "last_event_ns", "updated_ns",
)

INSERT_STAGED_ORDER_EVENTS = """
INSERT INTO order_events (trader_id, event_id, client_order_id, event_type, ts_event, ts_event_ns, ts_init_ns, payload)
SELECT trader_id, event_id, client_order_id, event_type, ts_event, ts_event_ns, ts_init_ns, payload
FROM stage_order_events
ON CONFLICT (trader_id, event_id, ts_event) DO NOTHING
RETURNING event_id::text
"""

# The staged changes are one per order (folded in Python by the same rules), so each row is upserted once.
APPLY_STAGED_ORDER_CHANGES = """
INSERT INTO unified_orders AS o (trader_id, client_order_id, venue_order_id, strategy_id, venue, account_id,
    instrument_id, canonical_id, side, order_type, time_in_force, quantity, price, trigger_price, reduce_only,
    post_only, lifecycle_status, lifecycle_rank, pending_action, pending_ns, reason, first_event_at, first_event_ns,
    last_event_at, last_event_ns, updated_ns)
SELECT trader_id, client_order_id, venue_order_id, strategy_id, venue, account_id, instrument_id, canonical_id,
    side, order_type, time_in_force, quantity, price, trigger_price, reduce_only, post_only,
    COALESCE(lifecycle_status, 'INITIALIZED'), GREATEST(lifecycle_rank, 0), pending_action, pending_ns, reason,
    first_event_at, first_event_ns, last_event_at, last_event_ns, updated_ns
FROM stage_order_changes
ON CONFLICT (trader_id, client_order_id) DO UPDATE SET
    venue_order_id   = COALESCE(EXCLUDED.venue_order_id, o.venue_order_id),
    strategy_id      = COALESCE(o.strategy_id, EXCLUDED.strategy_id),
    account_id       = COALESCE(o.account_id, EXCLUDED.account_id),
    side             = COALESCE(o.side, EXCLUDED.side),
    order_type       = COALESCE(o.order_type, EXCLUDED.order_type),
    time_in_force    = COALESCE(o.time_in_force, EXCLUDED.time_in_force),
    reduce_only      = COALESCE(o.reduce_only, EXCLUDED.reduce_only),
    post_only        = COALESCE(o.post_only, EXCLUDED.post_only),
    -- OrderUpdated may change quantity / prices; only the newest update wins.
    quantity         = CASE WHEN EXCLUDED.updated_ns > o.updated_ns
                            THEN COALESCE(EXCLUDED.quantity, o.quantity) ELSE COALESCE(o.quantity, EXCLUDED.quantity) END,
    price            = CASE WHEN EXCLUDED.updated_ns > o.updated_ns
                            THEN COALESCE(EXCLUDED.price, o.price) ELSE COALESCE(o.price, EXCLUDED.price) END,
    trigger_price    = CASE WHEN EXCLUDED.updated_ns > o.updated_ns
                            THEN COALESCE(EXCLUDED.trigger_price, o.trigger_price)
                            ELSE COALESCE(o.trigger_price, EXCLUDED.trigger_price) END,
    updated_ns       = GREATEST(o.updated_ns, EXCLUDED.updated_ns),
    -- A late event never moves the lifecycle backwards (EXCLUDED's rank is 0 when the events had no lifecycle).
    lifecycle_status = CASE WHEN EXCLUDED.lifecycle_rank > o.lifecycle_rank
                            THEN EXCLUDED.lifecycle_status ELSE o.lifecycle_status END,
    lifecycle_rank   = GREATEST(o.lifecycle_rank, EXCLUDED.lifecycle_rank),
    pending_action   = CASE WHEN EXCLUDED.pending_ns > 0 AND EXCLUDED.pending_ns >= o.pending_ns
                            THEN EXCLUDED.pending_action ELSE o.pending_action END,
    pending_ns       = GREATEST(o.pending_ns, EXCLUDED.pending_ns),
    reason           = COALESCE(EXCLUDED.reason, o.reason),
    first_event_at   = CASE WHEN EXCLUDED.first_event_ns < o.first_event_ns
                            THEN EXCLUDED.first_event_at ELSE o.first_event_at END,
    first_event_ns   = LEAST(o.first_event_ns, EXCLUDED.first_event_ns),
    last_event_at    = CASE WHEN EXCLUDED.last_event_ns > o.last_event_ns
                            THEN EXCLUDED.last_event_at ELSE o.last_event_at END,
    last_event_ns    = GREATEST(o.last_event_ns, EXCLUDED.last_event_ns)
"""

INSERT_STAGED_FILLS = """
INSERT INTO fills (trader_id, venue, account_id, instrument_id, trade_id, client_order_id, venue_order_id, strategy_id,
    canonical_id, side, quantity, base_quantity, price, commission, commission_currency, liquidity_side, event_id,
    ts_event, ts_event_ns)
SELECT trader_id, venue, account_id, instrument_id, trade_id, client_order_id, venue_order_id, strategy_id,
    canonical_id, side, quantity, base_quantity, price, commission, commission_currency, liquidity_side, event_id,
    ts_event, ts_event_ns
FROM stage_fills
ON CONFLICT DO NOTHING
"""

# A venue trade id already recorded for ANOTHER order is not a replay but a conflict (e.g. a venue that reused ids):
# the new fill is kept in dead_letters instead of silently dropped.
CONFLICTING_STAGED_FILLS = """
INSERT INTO dead_letters (trader_id, kind, event_id, payload, error)
SELECT s.trader_id, 'fill', s.event_id::text, to_jsonb(s),
       format('trade id %s of %s on %s is already recorded for order %s', s.trade_id, s.instrument_id,
              s.account_id, f.client_order_id)
FROM stage_fills s
JOIN fills f USING (trader_id, venue, account_id, instrument_id, trade_id)
WHERE f.client_order_id <> s.client_order_id
RETURNING error
"""

# Fill totals are derived from the fills table (never counted from events), then the status follows from them:
# fully filled -> FILLED (terminal), partly filled and not yet terminal -> PARTIALLY_FILLED. Fills that sum to more
# than the order's quantity are a conflict: recorded in reconciliation_events, filled_qty held at the quantity.
RECOMPUTE_ORDER_FILLS = """
WITH totals AS (  -- one index lookup per order (never a scan of the trader's whole fill history)
    SELECT ids.client_order_id, t.qty, t.notional
    FROM unnest($2::text[]) AS ids(client_order_id)
    CROSS JOIN LATERAL (SELECT sum(f.quantity) AS qty, sum(f.quantity * f.price) AS notional FROM fills f
                        WHERE f.trader_id = $1 AND f.client_order_id = ids.client_order_id) AS t
    WHERE t.qty IS NOT NULL
), overfilled AS (
    INSERT INTO reconciliation_events AS r (trader_id, source, account_id, instrument_id, client_order_id,
        venue_order_id, kind, oms_value, venue_value, detail, action, resolved, dedupe_key)
    SELECT $1, 'writer', o.account_id, o.instrument_id, o.client_order_id, o.venue_order_id, 'quantity',
           o.quantity::text, t.qty::text,
           format('the fills of %s sum to %s, above its quantity %s', o.client_order_id, t.qty, o.quantity),
           'filled_qty held at the order quantity; every fill kept for review', false,
           format('overfill:%s:%s', o.client_order_id, t.qty)
    FROM totals t JOIN unified_orders o ON o.trader_id = $1 AND o.client_order_id = t.client_order_id
    WHERE o.quantity IS NOT NULL AND t.qty > o.quantity
    ON CONFLICT (trader_id, dedupe_key) DO UPDATE SET last_seen_at = now(), seen_count = r.seen_count + 1
)
UPDATE unified_orders o SET
    filled_qty = CASE WHEN o.quantity IS NOT NULL THEN LEAST(t.qty, o.quantity) ELSE t.qty END,
    avg_px = trim_scale(round(t.notional / t.qty, 16)),
    lifecycle_status = CASE WHEN o.quantity IS NOT NULL AND t.qty >= o.quantity THEN 'FILLED'
                            WHEN o.lifecycle_rank < 50 THEN 'PARTIALLY_FILLED'
                            ELSE o.lifecycle_status END,
    lifecycle_rank = CASE WHEN o.quantity IS NOT NULL AND t.qty >= o.quantity THEN 100
                          ELSE GREATEST(o.lifecycle_rank, 50) END
FROM totals t
WHERE o.trader_id = $1 AND o.client_order_id = t.client_order_id
  AND (o.filled_qty IS DISTINCT FROM (CASE WHEN o.quantity IS NOT NULL THEN LEAST(t.qty, o.quantity) ELSE t.qty END)
       OR o.lifecycle_rank < 50
       OR (o.quantity IS NOT NULL AND t.qty >= o.quantity AND o.lifecycle_status <> 'FILLED'))
"""

# --- positions ----------------------------------------------------------------------------------------------------

UPSERT_POSITION = """
INSERT INTO unified_positions (trader_id, canonical_id, net_quantity, avg_entry_price, realized_pnl, unrealized_pnl,
    pnl_currency, venue_positions, updated_at, updated_ns)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10)
ON CONFLICT (trader_id, canonical_id) DO UPDATE SET
    net_quantity = EXCLUDED.net_quantity, avg_entry_price = EXCLUDED.avg_entry_price,
    realized_pnl = EXCLUDED.realized_pnl, unrealized_pnl = EXCLUDED.unrealized_pnl,
    pnl_currency = EXCLUDED.pnl_currency, venue_positions = EXCLUDED.venue_positions,
    updated_at = EXCLUDED.updated_at, updated_ns = EXCLUDED.updated_ns
"""

INSERT_POSITION_HISTORY = """
INSERT INTO position_history (trader_id, canonical_id, net_quantity, avg_entry_price, realized_pnl, unrealized_pnl,
    pnl_currency, venue_positions, recorded_at, recorded_ns)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10)
"""

SELECT_POSITIONS = """
SELECT canonical_id, net_quantity, avg_entry_price, realized_pnl, unrealized_pnl, pnl_currency, venue_positions,
       updated_at
FROM unified_positions WHERE trader_id = $1 ORDER BY canonical_id
"""

# --- accounts -----------------------------------------------------------------------------------------------------

INSERT_ACCOUNT_STATE_REPEAT = """
INSERT INTO account_state_repeats (trader_id, event_id, account_id, ts_event_ns) VALUES ($1, $2::uuid, $3, $4)
ON CONFLICT (trader_id, event_id) DO NOTHING
"""

# Margins the newest state no longer carries (a closed position) are removed from the current table.
DELETE_STALE_MARGINS = """
DELETE FROM account_margins
WHERE trader_id = $1 AND account_id = $2 AND updated_ns <= $3 AND NOT (margin_key = ANY($4::text[]))
"""

INSERT_DEAD_LETTER = """
INSERT INTO dead_letters (trader_id, kind, event_id, payload, error) VALUES ($1, $2, $3, $4::jsonb, $5)
"""

# A newer state sets a currency's row even when its figures did not change (so a late, older state cannot overwrite
# them); of equal times the later one wins.
UPSERT_BALANCE = """
INSERT INTO account_balances AS b (trader_id, account_id, currency, total, free, locked, updated_at, updated_ns)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (trader_id, account_id, currency) DO UPDATE SET
    total = EXCLUDED.total, free = EXCLUDED.free, locked = EXCLUDED.locked,
    updated_at = EXCLUDED.updated_at, updated_ns = EXCLUDED.updated_ns
WHERE EXCLUDED.updated_ns > b.updated_ns
   OR (EXCLUDED.updated_ns = b.updated_ns
       AND (b.total, b.free, b.locked) IS DISTINCT FROM (EXCLUDED.total, EXCLUDED.free, EXCLUDED.locked))
"""

UPSERT_MARGIN = """
INSERT INTO account_margins AS m (trader_id, account_id, margin_key, currency, initial, maintenance, updated_at,
    updated_ns)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (trader_id, account_id, margin_key) DO UPDATE SET
    currency = EXCLUDED.currency, initial = EXCLUDED.initial, maintenance = EXCLUDED.maintenance,
    updated_at = EXCLUDED.updated_at, updated_ns = EXCLUDED.updated_ns
WHERE EXCLUDED.updated_ns > m.updated_ns
   OR (EXCLUDED.updated_ns = m.updated_ns
       AND (m.currency, m.initial, m.maintenance) IS DISTINCT FROM (EXCLUDED.currency, EXCLUDED.initial,
                                                                    EXCLUDED.maintenance))
"""

# --- operator queries (the `live` command) -------------------------------------------------------------------------

# Listings (``live orders`` / ``fills`` / ``positions`` / ``balances``): $1 trader; then the filters, NULL meaning
# "any": venue, since (timestamptz); the LAST ``limit`` rows by time (NULL: all), shown oldest first; ``matching`` is
# the number of rows the filters match (counted apart: a count(*) OVER () would read every matching row through the
# sort order, 320 ms for 200k fills; the LIMITed rows come from the index), price_increment the instrument's tick.
SELECT_ORDERS = """
SELECT client_order_id, venue_order_id, venue, account_id, canonical_id, instrument_id, side, order_type,
       time_in_force, quantity, price, trigger_price, status, filled_qty, avg_px, reason, last_event_at,
       price_increment,
       (SELECT count(*) FROM unified_orders c
        WHERE c.trader_id = $1 AND ($2::boolean IS FALSE OR c.lifecycle_rank < 100) AND ($3::text IS NULL OR c.venue = $3)
          AND ($4::timestamptz IS NULL OR c.last_event_at >= $4)) AS matching
FROM (SELECT o.client_order_id, o.venue_order_id, o.venue, o.account_id, o.canonical_id, o.instrument_id, o.side,
             o.order_type, o.time_in_force, o.quantity, o.price, o.trigger_price, o.status, o.filled_qty, o.avg_px,
             o.reason, o.last_event_at, o.first_event_ns, i.price_increment
      FROM unified_orders o
      LEFT JOIN instruments i ON i.trader_id = o.trader_id AND i.instrument_id = o.instrument_id
      WHERE o.trader_id = $1
        AND ($2::boolean IS FALSE OR o.lifecycle_rank < 100)
        AND ($3::text IS NULL OR o.venue = $3)
        AND ($4::timestamptz IS NULL OR o.last_event_at >= $4)
      ORDER BY o.first_event_ns DESC, o.client_order_id DESC
      LIMIT $5) AS last_orders
ORDER BY first_event_ns, client_order_id
"""

SELECT_FILLS = """
SELECT ts_event, venue, account_id, canonical_id, instrument_id, client_order_id, trade_id, side, quantity,
       base_quantity, price, commission, commission_currency, liquidity_side, price_increment,
       (SELECT count(*) FROM fills c
        WHERE c.trader_id = $1 AND ($2::text IS NULL OR c.venue = $2) AND ($3::timestamptz IS NULL OR c.ts_event >= $3))
           AS matching
FROM (SELECT f.ts_event, f.ts_event_ns, f.venue, f.account_id, f.canonical_id, f.instrument_id, f.client_order_id,
             f.trade_id, f.side, f.quantity, f.base_quantity, f.price, f.commission, f.commission_currency,
             f.liquidity_side, i.price_increment
      FROM fills f
      LEFT JOIN instruments i ON i.trader_id = f.trader_id AND i.instrument_id = f.instrument_id
      WHERE f.trader_id = $1 AND ($2::text IS NULL OR f.venue = $2) AND ($3::timestamptz IS NULL OR f.ts_event >= $3)
      ORDER BY f.ts_event_ns DESC, f.trade_id DESC
      LIMIT $4) AS last_fills
ORDER BY ts_event_ns, trade_id
"""

# The finest tick of the instruments a canonical id trades as (several venues may list it).
LIST_POSITIONS = """
SELECT canonical_id, net_quantity, avg_entry_price, realized_pnl, unrealized_pnl, pnl_currency, venue_positions,
       updated_at, price_increment, matching
FROM (SELECT p.canonical_id, p.net_quantity, p.avg_entry_price, p.realized_pnl, p.unrealized_pnl, p.pnl_currency,
             p.venue_positions, p.updated_at,
             (SELECT min(i.price_increment) FROM instruments i
              WHERE i.trader_id = p.trader_id AND i.canonical_id = p.canonical_id) AS price_increment,
             count(*) OVER () AS matching
      FROM unified_positions p
      WHERE p.trader_id = $1 AND ($2::timestamptz IS NULL OR p.updated_at >= $2)
      ORDER BY p.updated_ns DESC, p.canonical_id
      LIMIT $3) AS last_positions
ORDER BY canonical_id
"""

SELECT_BALANCES = """
SELECT venue, account_id, account_type, margin_model, currency, total, free, locked, updated_at, matching
FROM (SELECT a.venue, b.account_id, a.account_type, a.margin_model, b.currency, b.total, b.free, b.locked,
             b.updated_at, count(*) OVER () AS matching
      FROM account_balances b JOIN accounts a USING (trader_id, account_id)
      WHERE b.trader_id = $1 AND ($2::text IS NULL OR a.venue = $2) AND ($3::timestamptz IS NULL OR b.updated_at >= $3)
      ORDER BY b.updated_at DESC
      LIMIT $4) AS last_balances
ORDER BY venue, account_id, currency
"""

SELECT_MARGINS = """
SELECT venue, account_id, margin_key, currency, initial, maintenance, updated_at, matching
FROM (SELECT a.venue, m.account_id, m.margin_key, m.currency, m.initial, m.maintenance, m.updated_at,
             count(*) OVER () AS matching
      FROM account_margins m JOIN accounts a USING (trader_id, account_id)
      WHERE m.trader_id = $1 AND ($2::text IS NULL OR a.venue = $2) AND ($3::timestamptz IS NULL OR m.updated_at >= $3)
      ORDER BY m.updated_at DESC
      LIMIT $4) AS last_margins
ORDER BY venue, account_id, margin_key
"""

# What one run did (``live run`` / ``live demo`` print it when they stop): $1 trader, $2 the run's start.
RUN_ORDER_COUNTS = """
SELECT status, count(*) AS orders FROM unified_orders
WHERE trader_id = $1 AND first_event_at >= $2 GROUP BY status ORDER BY status
"""

RUN_FILL_TOTALS = """
SELECT canonical_id, side, count(*) AS fills, sum(base_quantity) AS base_quantity FROM fills
WHERE trader_id = $1 AND ts_event >= $2 GROUP BY canonical_id, side ORDER BY canonical_id, side
"""

SELECT_TRADERS = "SELECT DISTINCT trader_id FROM accounts ORDER BY trader_id"

SELECT_TABLE_NAMES = """
SELECT c.relname AS tablename FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1
"""  # a partitioned table once, not each month

SELECT_MIGRATIONS = "SELECT version, name, applied_at FROM schema_migrations ORDER BY version"

# --- live serve: the read-only dashboard and JSON API (any number of traders in one database) ----------------------
# A NULL filter matches everything. Paging is keyset: the last row's sort key comes back as the cursor, so a page
# never repeats or skips rows while nodes keep writing.

TABLE_EXISTS = "SELECT to_regclass($1) IS NOT NULL"

SERVE_ORDERS = """
SELECT trader_id, client_order_id, venue_order_id, strategy_id, venue, account_id, instrument_id, canonical_id, side,
       order_type, time_in_force, quantity, price, trigger_price, status, filled_qty, avg_px, reason, first_event_at,
       last_event_at, last_event_ns
FROM unified_orders
WHERE ($1::text IS NULL OR trader_id = $1)
  AND ($2::text IS NULL OR venue = $2)
  AND ($3::text IS NULL OR instrument_id = $3 OR canonical_id = $3)
  AND ($4::text IS NULL OR ($4 = 'OPEN' AND lifecycle_rank < 100) OR status = $4)
  AND ($5::timestamptz IS NULL OR last_event_at >= $5)
  AND ($6::bigint IS NULL OR (last_event_ns, trader_id, client_order_id) < ($6, $7::text, $8::text))
ORDER BY last_event_ns DESC, trader_id DESC, client_order_id DESC
LIMIT $9
"""

SERVE_FILLS = """
SELECT trader_id, ts_event, venue, account_id, instrument_id, canonical_id, client_order_id, venue_order_id, trade_id,
       side, quantity, base_quantity, price, commission, commission_currency, liquidity_side, event_id, ts_event_ns
FROM fills
WHERE ($1::text IS NULL OR trader_id = $1)
  AND ($2::text IS NULL OR venue = $2)
  AND ($3::text IS NULL OR instrument_id = $3 OR canonical_id = $3)
  AND ($4::timestamptz IS NULL OR ts_event >= $4)
  AND ($5::bigint IS NULL OR (ts_event_ns, event_id) < ($5, $6::uuid))
ORDER BY ts_event_ns DESC, event_id DESC
LIMIT $7
"""

SERVE_POSITIONS = """
SELECT trader_id, canonical_id, net_quantity, avg_entry_price, realized_pnl, unrealized_pnl, pnl_currency,
       venue_positions, updated_at
FROM unified_positions p
WHERE ($1::text IS NULL OR trader_id = $1)
  AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM jsonb_each(p.venue_positions) e WHERE e.value->>'venue' = $2))
  AND ($3::text IS NULL OR canonical_id = $3
       OR EXISTS (SELECT 1 FROM jsonb_each(p.venue_positions) e WHERE e.value->>'instrument_id' = $3))
  AND ($4::text IS NULL OR (trader_id, canonical_id) > ($4, $5::text))
ORDER BY trader_id, canonical_id
LIMIT $6
"""

SERVE_BALANCES = """
SELECT b.trader_id, a.venue, b.account_id, a.account_type, a.margin_model, b.currency, b.total, b.free, b.locked,
       b.updated_at
FROM account_balances b JOIN accounts a USING (trader_id, account_id)
WHERE ($1::text IS NULL OR b.trader_id = $1)
  AND ($2::text IS NULL OR a.venue = $2)
  AND ($3::text IS NULL OR (b.trader_id, b.account_id, b.currency) > ($3, $4::text, $5::text))
ORDER BY b.trader_id, b.account_id, b.currency
LIMIT $6
"""

SERVE_RECONCILIATION = """
SELECT r.id, r.trader_id, r.detected_at, r.last_seen_at, r.seen_count, r.source, r.client_id, r.account_id,
       a.venue, r.instrument_id, r.client_order_id, r.venue_order_id, r.trade_id, r.kind, r.oms_value, r.venue_value,
       r.detail, r.action, r.resolved, r.resolved_at
FROM reconciliation_events r LEFT JOIN accounts a ON a.trader_id = r.trader_id AND a.account_id = r.account_id
WHERE ($1::text IS NULL OR r.trader_id = $1)
  AND ($2::text IS NULL OR a.venue = $2)
  AND ($3::text IS NULL OR r.instrument_id = $3)
  AND ($4::timestamptz IS NULL OR r.detected_at >= $4)
  AND ($5::boolean IS NULL OR r.resolved = $5)
  AND ($6::bigint IS NULL OR r.id < $6)
ORDER BY r.id DESC
LIMIT $7
"""

SERVE_TRADERS = """
SELECT trader_id FROM accounts UNION SELECT trader_id FROM unified_orders ORDER BY trader_id
"""

SERVE_NODES = """
SELECT trader_id, host, pid, version, started_at, last_heartbeat, stopped_at,
       round(EXTRACT(EPOCH FROM now() - last_heartbeat)::numeric, 1) AS heartbeat_age_secs,
       CASE WHEN stopped_at IS NOT NULL THEN 'stopped'
            WHEN now() - last_heartbeat > make_interval(secs => $4) THEN 'no heartbeat'
            ELSE 'running' END AS health
FROM nodes
WHERE ($1::text IS NULL OR trader_id = $1)
  AND ($2::text IS NULL OR trader_id > $2)
ORDER BY trader_id
LIMIT $3
"""

# The node's endpoints: does PostgreSQL take writes now, and how many differences reconciliation recorded per venue.
OPS_DATABASE_WRITABLE = "SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off'"

OPS_RECONCILIATION_DIFFERENCES = """
SELECT COALESCE(a.venue, split_part(r.client_id, '_', 1), 'UNKNOWN') AS venue, count(*) AS differences
FROM reconciliation_events r LEFT JOIN accounts a ON a.trader_id = r.trader_id AND a.account_id = r.account_id
WHERE r.trader_id = $1
GROUP BY 1
"""

# --- venue truth: warm start and audit (backend.live.reconcile) ---------------------------------------------------

# The events of every order still open and of every order with an event since $2 (ns), oldest first.
SELECT_RESTORE_ORDER_EVENTS = """
SELECT e.client_order_id, e.payload::text AS payload
FROM order_events e JOIN unified_orders o USING (trader_id, client_order_id)
WHERE e.trader_id = $1 AND (o.lifecycle_rank < 100 OR o.last_event_ns >= $2)
ORDER BY e.client_order_id, e.ts_init_ns, e.ts_event_ns
"""

# The OrderFilled payload of every venue trade in fills (the event that stored it), in trade order.
SELECT_RESTORE_FILL_EVENTS = """
SELECT e.payload::text AS payload
FROM fills f JOIN order_events e ON e.trader_id = f.trader_id AND e.event_id = f.event_id
WHERE f.trader_id = $1
ORDER BY f.ts_event_ns, e.ts_init_ns
"""

# The OMS side of one account for the audit: orders open, changed since $3 (ns) or named by the venue's reports.
SELECT_AUDIT_ORDERS = """
SELECT client_order_id, venue_order_id, instrument_id, lifecycle_status, lifecycle_rank, quantity, filled_qty,
       last_event_ns, strategy_id, order_type, side
FROM unified_orders
WHERE trader_id = $1
  AND (account_id = $2 OR (account_id IS NULL AND right(instrument_id, length($6::text) + 1) = '.' || $6::text))
  AND (lifecycle_rank < 100 OR last_event_ns >= $3 OR client_order_id = ANY($4::text[])
       OR venue_order_id = ANY($5::text[]))
"""

SELECT_AUDIT_FILLS = """
SELECT instrument_id, trade_id, client_order_id, quantity, ts_event_ns
FROM fills
WHERE trader_id = $1 AND account_id = $2 AND (ts_event_ns >= $3 OR client_order_id = ANY($4::text[]))
"""

SELECT_AUDIT_FILL_EVENTS = """
SELECT event_id::text AS event_id, client_order_id, payload::text AS payload
FROM order_events
WHERE trader_id = $1 AND event_type = 'OrderFilled' AND client_order_id = ANY($2::text[])
ORDER BY ts_init_ns
"""

SELECT_AUDIT_POSITIONS = """
SELECT p.venue_positions::text AS venue_positions FROM unified_positions p WHERE p.trader_id = $1
"""

SELECT_INSTRUMENT_KINDS = "SELECT instrument_id, kind, quote_currency FROM instruments WHERE trader_id = $1"

INSERT_AUDIT_ORDER_EVENT = """
INSERT INTO order_events (trader_id, event_id, client_order_id, event_type, ts_event, ts_event_ns, ts_init_ns, payload)
VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8::jsonb)
ON CONFLICT (trader_id, event_id, ts_event) DO NOTHING
"""

INSERT_AUDIT_FILL = """
INSERT INTO fills (trader_id, venue, account_id, instrument_id, trade_id, client_order_id, venue_order_id,
    strategy_id, canonical_id, side, quantity, base_quantity, price, commission, commission_currency, liquidity_side,
    event_id, ts_event, ts_event_ns)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17::uuid, $18, $19)
ON CONFLICT DO NOTHING
"""

# A status the venue reports that the OMS has not reached yet (never moves an order back).
ADVANCE_ORDER_STATUS = """
UPDATE unified_orders SET lifecycle_status = $3, lifecycle_rank = $4, pending_action = NULL
WHERE trader_id = $1 AND client_order_id = $2 AND lifecycle_rank < $4
"""

SET_ORDER_QUANTITY = "UPDATE unified_orders SET quantity = $3 WHERE trader_id = $1 AND client_order_id = $2"

# One difference; a repeat (same dedupe key) updates the row: seen again, resolved once any audit resolved it.
UPSERT_RECONCILIATION_EVENT = """
INSERT INTO reconciliation_events AS r (trader_id, source, client_id, account_id, instrument_id, client_order_id,
    venue_order_id, trade_id, kind, oms_value, venue_value, detail, action, resolved, resolved_at, dedupe_key)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, CASE WHEN $14 THEN now() END, $15)
ON CONFLICT (trader_id, dedupe_key) DO UPDATE SET
    last_seen_at = now(), seen_count = r.seen_count + 1,
    detail = EXCLUDED.detail, venue_value = EXCLUDED.venue_value,
    action = CASE WHEN r.resolved THEN r.action ELSE EXCLUDED.action END,
    resolved = r.resolved OR EXCLUDED.resolved,
    resolved_at = COALESCE(r.resolved_at, EXCLUDED.resolved_at)
"""

SELECT_RECONCILIATION_EVENTS = """
SELECT id, detected_at, last_seen_at, seen_count, source, client_id, account_id, instrument_id, client_order_id,
       venue_order_id, trade_id, kind, oms_value, venue_value, detail, action, resolved
FROM reconciliation_events
WHERE trader_id = $1 AND ($2::boolean IS FALSE OR NOT resolved) AND ($3::text[] IS NULL OR kind = ANY($3::text[]))
ORDER BY detected_at, id
"""

# -- node lock and the nodes table (backend/live/node_lock.py) ------------------------------------------------------

TRY_NODE_LOCK = "SELECT pg_try_advisory_lock($1)"
NODE_UNLOCK = "SELECT pg_advisory_unlock($1)"

REGISTER_NODE = """
INSERT INTO nodes (trader_id, host, pid, version, started_at, last_heartbeat, stopped_at, lock_key)
VALUES ($1, $2, $3, $4, now(), now(), NULL, $5)
ON CONFLICT (trader_id) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid, version = EXCLUDED.version,
    started_at = EXCLUDED.started_at, last_heartbeat = EXCLUDED.last_heartbeat, stopped_at = NULL,
    lock_key = EXCLUDED.lock_key
RETURNING started_at
"""

NODE_HEARTBEAT = "UPDATE nodes SET last_heartbeat = now() WHERE trader_id = $1 AND host = $2 AND pid = $3"

NODE_STOPPED = "UPDATE nodes SET stopped_at = now() WHERE trader_id = $1 AND host = $2 AND pid = $3"

SELECT_NODE = "SELECT trader_id, host, pid, version, started_at, last_heartbeat, stopped_at FROM nodes WHERE trader_id = $1"

# running: some session holds the trader id's advisory lock (a bigint key shows as classid = high, objid = low half).
SELECT_NODES = """
SELECT n.trader_id, n.host, n.pid, n.version, n.started_at, n.last_heartbeat, n.stopped_at,
       EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND l.classid::bigint = ((n.lock_key >> 32) & 4294967295)
               AND l.objid::bigint = (n.lock_key & 4294967295)) AS running
FROM nodes n
ORDER BY n.trader_id
"""


# --- forgetting a trader (live demo starts over) ------------------------------------------------------------------
# Every table with a trader_id column; the DELETE runs once per table, inside one transaction that holds the trader's
# node lock ($1 of TRY_NODE_LOCK_XACT) so a running node's rows are never touched.
TRADER_TABLES = """
SELECT table_name FROM information_schema.columns
WHERE table_schema = 'public' AND column_name = 'trader_id' ORDER BY table_name
"""
TRY_NODE_LOCK_XACT = "SELECT pg_try_advisory_xact_lock($1)"
DELETE_TRADER_ROWS = "DELETE FROM {table} WHERE trader_id = $1"  # {table}: a quoted identifier from TRADER_TABLES

# -- account states, a batch at a time (backend/live/oms/account_states.py) ----------------------------------------

ACCOUNT_STATES_SEEN = """
SELECT event_id::text FROM account_state_history WHERE trader_id = $1 AND event_id = ANY($2::uuid[])
UNION ALL
SELECT event_id::text FROM account_state_repeats WHERE trader_id = $1 AND event_id = ANY($2::uuid[])
"""

# The accounts a batch touches, locked for the transaction, with the time of their newest state so far.
LOCK_ACCOUNTS = """
SELECT account_id, last_update_ns FROM accounts
WHERE trader_id = $1 AND account_id = ANY($2::text[])
ORDER BY account_id
FOR UPDATE
"""

# Per account ($2, with the batch's oldest and newest state time $3, $4): the state before the batch's oldest one
# and every state within the batch's time range: what the batch's states are compared with.
ACCOUNT_HISTORY_AROUND = """
SELECT b.account_id, h.balances::text AS balances, h.margins::text AS margins, h.ts_event_ns, h.seq
FROM unnest($2::text[], $3::bigint[], $4::bigint[]) AS b(account_id, min_ns, max_ns)
CROSS JOIN LATERAL (
    (SELECT balances, margins, ts_event_ns, seq FROM account_state_history
     WHERE trader_id = $1 AND account_id = b.account_id AND ts_event_ns <= b.min_ns
     ORDER BY ts_event_ns DESC, seq DESC LIMIT 1)
    UNION ALL
    SELECT balances, margins, ts_event_ns, seq FROM account_state_history
    WHERE trader_id = $1 AND account_id = b.account_id AND ts_event_ns > b.min_ns AND ts_event_ns <= b.max_ns
) AS h
"""

INSERT_ACCOUNT_STATE_ROW = """
INSERT INTO account_state_history (trader_id, event_id, account_id, balances, margins, ts_event, ts_event_ns)
VALUES ($1, $2::uuid, $3, $4::jsonb, $5::jsonb, $6, $7)
ON CONFLICT (trader_id, event_id, ts_event) DO NOTHING
"""

SET_ACCOUNT_UPDATE = """
UPDATE accounts SET margin_model = $3, base_currency = COALESCE($4, base_currency),
    last_update_at = COALESCE($5, last_update_at), last_update_ns = $6
WHERE trader_id = $1 AND account_id = $2
"""

# --- firm-wide positions (H8): unified_positions_all (migration 0005) nets every trader id per canonical instrument ---
# The finest tick of any trader's instrument in the canonical id, for showing the entry price.
FIRM_POSITIONS = """
SELECT f.canonical_id, f.net_quantity, f.avg_entry_price, f.realized_pnl, f.unrealized_pnl, f.pnl_currency,
       f.trader_positions, f.open_traders, f.updated_at,
       (SELECT min(i.price_increment) FROM instruments i WHERE i.canonical_id = f.canonical_id) AS price_increment
FROM unified_positions_all f
ORDER BY f.canonical_id
"""

# --- partitions (H8): monthly partitions of the append-only tables (migration 0007, backend/live/partitions.py) ----
PARTITION_LOCK = "SELECT pg_advisory_xact_lock($1)"
CREATE_MONTH_PARTITION = "SELECT live_create_month_partition($1::regclass, $2::date)"
# The month partitions of a table ($1) with their upper bound, oldest first (the default partition has no bound).
LIST_MONTH_PARTITIONS = """
SELECT c.relname AS name,
       (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz AS upper_bound
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = $1::regclass AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
ORDER BY upper_bound
"""
COUNT_DEFAULT_PARTITION_ROWS = "SELECT count(*) FROM {table}_default"  # {table}: one of partitions.PARTITIONED
DETACH_PARTITION = "ALTER TABLE {table} DETACH PARTITION {partition}"  # quoted identifiers from LIST_MONTH_PARTITIONS
DROP_PARTITION = "DROP TABLE {partition}"
# The keys of fills that were before $1 and are gone (their partition dropped): such a trade may be stored again.
FORGET_DROPPED_FILL_KEYS = """
DELETE FROM fill_keys k
WHERE k.ts_event < $1 AND NOT EXISTS (
    SELECT 1 FROM fills f WHERE f.trader_id = k.trader_id AND f.venue = k.venue AND f.account_id = k.account_id
                            AND f.instrument_id = k.instrument_id AND f.trade_id = k.trade_id)
"""
