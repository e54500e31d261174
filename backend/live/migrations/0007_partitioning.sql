-- Growth over time: the four append-only tables are partitioned by month (PostgreSQL's declarative partitioning) on
-- the time of the row itself: order_events, fills and account_state_history on ts_event (the event's own time),
-- position_history on recorded_at. A default partition takes any row no month partition holds yet (nothing is
-- refused); live_create_month_partition moves such rows into the month's partition when it is created. Partitions
-- are created ahead by the node at start and by `live db maintain`, which also applies the retention
-- (backend/live/partitions.py).
--
-- Idempotency is kept exactly. A unique key of a partitioned table must contain the partition key:
-- - order_events and account_state_history: (trader_id, event_id, ts_event). An event replayed (journal, warm start,
--   reconnect) is the same event: the same id and the same ts_event, so it conflicts as before and changes nothing.
-- - fills: a venue trade can reach us as different events (the private stream, a reconciliation report, the audit)
--   whose ts_event might differ, so the trade's identity stays unique in fill_keys, a plain table beside fills: a
--   BEFORE INSERT trigger claims the key and skips the row when the trade is recorded already (what ON CONFLICT DO
--   NOTHING did), on every path that inserts fills.

CREATE FUNCTION live_create_month_partition(parent regclass, month date) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    base text := (SELECT relname FROM pg_class WHERE oid = parent);
    name text := base || '_p' || to_char(month, 'YYYYMM');
    start_at timestamptz := date_trunc('month', month::timestamp) AT TIME ZONE 'UTC';
    end_at timestamptz := (date_trunc('month', month::timestamp) + interval '1 month') AT TIME ZONE 'UTC';
    key text := (SELECT a.attname FROM pg_partitioned_table p
                 JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
                 WHERE p.partrelid = parent);
BEGIN
    IF to_regclass(quote_ident(name)) IS NOT NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name, parent);
    EXECUTE format('WITH moved AS (DELETE FROM %I WHERE %I >= $1 AND %I < $2 RETURNING *) INSERT INTO %I SELECT * FROM moved',
                   base || '_default', key, key, name) USING start_at, end_at;
    EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', parent, name, start_at, end_at);
    RETURN name;
END $$;

-- The months the existing rows span, up to three months ahead: partitions before the rows move in.
CREATE FUNCTION live_partition_months(first timestamptz) RETURNS SETOF date LANGUAGE sql AS $$
    SELECT generate_series(date_trunc('month', COALESCE(first, now()) AT TIME ZONE 'UTC'),
                           date_trunc('month', now() AT TIME ZONE 'UTC') + interval '3 months', interval '1 month')::date
$$;

-- order_events -----------------------------------------------------------------------------------------------------
ALTER TABLE order_events RENAME TO order_events_unpartitioned;
ALTER TABLE order_events_unpartitioned RENAME CONSTRAINT order_events_pkey TO order_events_unpartitioned_pkey;
ALTER INDEX order_events_order RENAME TO order_events_unpartitioned_order;
CREATE TABLE order_events (
    trader_id        text        NOT NULL,
    event_id         uuid        NOT NULL,
    client_order_id  text        NOT NULL,
    event_type       text        NOT NULL,
    ts_event         timestamptz NOT NULL,
    ts_event_ns      bigint      NOT NULL,
    ts_init_ns       bigint      NOT NULL,
    payload          jsonb       NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (trader_id, event_id, ts_event)
) PARTITION BY RANGE (ts_event);
CREATE INDEX order_events_order ON order_events (trader_id, client_order_id, ts_event_ns);
CREATE TABLE order_events_default PARTITION OF order_events DEFAULT;
SELECT live_create_month_partition('order_events', m)
FROM live_partition_months((SELECT min(ts_event) FROM order_events_unpartitioned)) m;
INSERT INTO order_events (trader_id, event_id, client_order_id, event_type, ts_event, ts_event_ns, ts_init_ns, payload,
                          recorded_at)
SELECT trader_id, event_id, client_order_id, event_type, ts_event, ts_event_ns, ts_init_ns, payload, recorded_at
FROM order_events_unpartitioned;
DROP TABLE order_events_unpartitioned;

-- fills --------------------------------------------------------------------------------------------------------------
CREATE TABLE fill_keys (
    trader_id        text        NOT NULL,
    venue            text        NOT NULL,
    account_id       text        NOT NULL,
    instrument_id    text        NOT NULL,
    trade_id         text        NOT NULL,
    ts_event         timestamptz NOT NULL,              -- the fill's partition key (retention removes keys with it)
    PRIMARY KEY (trader_id, venue, account_id, instrument_id, trade_id)
);
CREATE INDEX fill_keys_time ON fill_keys (ts_event);

CREATE FUNCTION fills_claim_trade() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fill_keys (trader_id, venue, account_id, instrument_id, trade_id, ts_event)
    VALUES (NEW.trader_id, NEW.venue, NEW.account_id, NEW.instrument_id, NEW.trade_id, NEW.ts_event)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN NULL;  -- the trade is recorded already: this row is skipped
    END IF;
    RETURN NEW;
END $$;

-- Removing fills removes their keys (a deleted trade can be stored again, as before): DELETE row by row, TRUNCATE of
-- fills all of them. Retention, which drops whole partitions, removes the keys itself (backend/live/partitions.py).
CREATE FUNCTION fills_forget_trade() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM fill_keys
    WHERE trader_id = OLD.trader_id AND venue = OLD.venue AND account_id = OLD.account_id
      AND instrument_id = OLD.instrument_id AND trade_id = OLD.trade_id;
    RETURN NULL;
END $$;

CREATE FUNCTION fills_forget_all_trades() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE fill_keys;
    RETURN NULL;
END $$;

ALTER TABLE fills RENAME TO fills_unpartitioned;
ALTER TABLE fills_unpartitioned RENAME CONSTRAINT fills_pkey TO fills_unpartitioned_pkey;
ALTER INDEX fills_time RENAME TO fills_unpartitioned_time;
ALTER INDEX fills_order RENAME TO fills_unpartitioned_order;
ALTER INDEX fills_trader_time_ns RENAME TO fills_unpartitioned_trader_time_ns;
ALTER INDEX fills_trader_page RENAME TO fills_unpartitioned_trader_page;
ALTER INDEX fills_page RENAME TO fills_unpartitioned_page;
CREATE TABLE fills (
    trader_id           text        NOT NULL,
    venue               text        NOT NULL,
    account_id          text        NOT NULL,
    instrument_id       text        NOT NULL,
    trade_id            text        NOT NULL,
    client_order_id     text        NOT NULL,
    venue_order_id      text,
    strategy_id         text,
    canonical_id        text        NOT NULL,
    side                text        NOT NULL CHECK (side IN ('BUY', 'SELL')),
    quantity            numeric     NOT NULL CHECK (quantity > 0),
    base_quantity       numeric     NOT NULL CHECK (base_quantity > 0),
    price               numeric     NOT NULL,
    commission          numeric     NOT NULL,
    commission_currency text        NOT NULL,
    liquidity_side      text        NOT NULL CHECK (liquidity_side IN ('MAKER', 'TAKER', 'NO_LIQUIDITY_SIDE')),
    event_id            uuid        NOT NULL,
    ts_event            timestamptz NOT NULL,
    ts_event_ns         bigint      NOT NULL,
    PRIMARY KEY (trader_id, venue, account_id, instrument_id, trade_id, ts_event)  -- unique per trade: fill_keys
) PARTITION BY RANGE (ts_event);
CREATE INDEX fills_time ON fills (trader_id, ts_event DESC);
CREATE INDEX fills_order ON fills (trader_id, client_order_id);
CREATE INDEX fills_trader_time_ns ON fills (trader_id, ts_event_ns DESC, trade_id DESC);
CREATE INDEX fills_trader_page ON fills (trader_id, ts_event_ns DESC, event_id DESC);
CREATE INDEX fills_page ON fills (ts_event_ns DESC, event_id DESC);
CREATE TRIGGER fills_claim_trade BEFORE INSERT ON fills FOR EACH ROW EXECUTE FUNCTION fills_claim_trade();
CREATE TRIGGER fills_forget_trade AFTER DELETE ON fills FOR EACH ROW EXECUTE FUNCTION fills_forget_trade();
CREATE TRIGGER fills_forget_all_trades BEFORE TRUNCATE ON fills FOR EACH STATEMENT
    EXECUTE FUNCTION fills_forget_all_trades();
CREATE TABLE fills_default PARTITION OF fills DEFAULT;
SELECT live_create_month_partition('fills', m) FROM live_partition_months((SELECT min(ts_event) FROM fills_unpartitioned)) m;
INSERT INTO fills (trader_id, venue, account_id, instrument_id, trade_id, client_order_id, venue_order_id, strategy_id,
                   canonical_id, side, quantity, base_quantity, price, commission, commission_currency, liquidity_side,
                   event_id, ts_event, ts_event_ns)
SELECT trader_id, venue, account_id, instrument_id, trade_id, client_order_id, venue_order_id, strategy_id,
       canonical_id, side, quantity, base_quantity, price, commission, commission_currency, liquidity_side,
       event_id, ts_event, ts_event_ns
FROM fills_unpartitioned;
DROP TABLE fills_unpartitioned;

-- position_history -------------------------------------------------------------------------------------------------
ALTER TABLE position_history RENAME TO position_history_unpartitioned;
ALTER TABLE position_history_unpartitioned RENAME CONSTRAINT position_history_pkey TO position_history_unpartitioned_pkey;
ALTER INDEX position_history_lookup RENAME TO position_history_unpartitioned_lookup;
ALTER SEQUENCE position_history_id_seq OWNED BY NONE;
CREATE TABLE position_history (
    id               bigint      NOT NULL DEFAULT nextval('position_history_id_seq'),
    trader_id        text        NOT NULL,
    canonical_id     text        NOT NULL,
    net_quantity     numeric     NOT NULL,
    avg_entry_price  numeric,
    realized_pnl     numeric     NOT NULL,
    unrealized_pnl   numeric     NOT NULL,
    pnl_currency     text,
    venue_positions  jsonb       NOT NULL,
    recorded_at      timestamptz NOT NULL,
    recorded_ns      bigint      NOT NULL,
    PRIMARY KEY (id, recorded_at)
) PARTITION BY RANGE (recorded_at);
ALTER SEQUENCE position_history_id_seq OWNED BY position_history.id;
CREATE INDEX position_history_lookup ON position_history (trader_id, canonical_id, recorded_ns DESC);
CREATE TABLE position_history_default PARTITION OF position_history DEFAULT;
SELECT live_create_month_partition('position_history', m)
FROM live_partition_months((SELECT min(recorded_at) FROM position_history_unpartitioned)) m;
INSERT INTO position_history (id, trader_id, canonical_id, net_quantity, avg_entry_price, realized_pnl, unrealized_pnl,
                              pnl_currency, venue_positions, recorded_at, recorded_ns)
SELECT id, trader_id, canonical_id, net_quantity, avg_entry_price, realized_pnl, unrealized_pnl, pnl_currency,
       venue_positions, recorded_at, recorded_ns
FROM position_history_unpartitioned;
DROP TABLE position_history_unpartitioned;

-- account_state_history --------------------------------------------------------------------------------------------
ALTER TABLE account_state_history RENAME TO account_state_history_unpartitioned;
ALTER TABLE account_state_history_unpartitioned
    RENAME CONSTRAINT account_state_history_pkey TO account_state_history_unpartitioned_pkey;
ALTER INDEX account_state_history_lookup RENAME TO account_state_history_unpartitioned_lookup;
ALTER SEQUENCE account_state_history_seq_seq OWNED BY NONE;
CREATE TABLE account_state_history (
    trader_id        text        NOT NULL,
    event_id         uuid        NOT NULL,
    account_id       text        NOT NULL,
    balances         jsonb       NOT NULL,
    margins          jsonb       NOT NULL,
    ts_event         timestamptz NOT NULL,
    ts_event_ns      bigint      NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    seq              bigint      NOT NULL DEFAULT nextval('account_state_history_seq_seq'),
    PRIMARY KEY (trader_id, event_id, ts_event)
) PARTITION BY RANGE (ts_event);
ALTER SEQUENCE account_state_history_seq_seq OWNED BY account_state_history.seq;
CREATE INDEX account_state_history_lookup ON account_state_history (trader_id, account_id, ts_event_ns DESC, seq DESC);
CREATE TABLE account_state_history_default PARTITION OF account_state_history DEFAULT;
SELECT live_create_month_partition('account_state_history', m)
FROM live_partition_months((SELECT min(ts_event) FROM account_state_history_unpartitioned)) m;
INSERT INTO account_state_history (trader_id, event_id, account_id, balances, margins, ts_event, ts_event_ns,
                                   recorded_at, seq)
SELECT trader_id, event_id, account_id, balances, margins, ts_event, ts_event_ns, recorded_at, seq
FROM account_state_history_unpartitioned;
DROP TABLE account_state_history_unpartitioned;
