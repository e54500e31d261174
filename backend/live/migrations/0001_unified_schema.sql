-- Unified OMS and Position Tracker schema.
-- Every table is scoped by trader_id so several TradingNodes can share one database.
-- Money and quantities are NUMERIC (exact); times are timestamptz plus the raw UNIX nanoseconds NautilusTrader uses.

CREATE TABLE accounts (
    trader_id        text        NOT NULL,
    account_id       text        NOT NULL,              -- NautilusTrader AccountId, e.g. BINANCE-master
    venue            text        NOT NULL,              -- unified venue: BINANCE, BYBIT, OKX
    account_type     text        NOT NULL,              -- venue account: SPOT, USDT_FUTURES, LINEAR, SWAP, UNIFIED...
    venue_type       text        NOT NULL DEFAULT 'CEFI'
                                 CHECK (venue_type IN ('CEFI', 'DEFI', 'TRADFI', 'SPORTS')),
    client_name      text,                              -- the exec client's name in the config
    margin_model     text        CHECK (margin_model IN ('CASH', 'MARGIN', 'BETTING')),
    base_currency    text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_update_at   timestamptz,                       -- last account state from the venue
    last_update_ns   bigint,
    PRIMARY KEY (trader_id, account_id)
);

CREATE TABLE instruments (
    trader_id           text        NOT NULL,
    instrument_id       text        NOT NULL,           -- NautilusTrader InstrumentId, e.g. BTCUSDT-PERP.BINANCE
    canonical_id        text        NOT NULL,           -- ccxt unified symbol, e.g. BTC/USDT:USDT
    venue               text        NOT NULL,
    venue_symbol        text        NOT NULL,
    kind                text        NOT NULL CHECK (kind IN ('spot', 'perpetual', 'future', 'option')),
    base_currency       text        NOT NULL,
    quote_currency      text        NOT NULL,
    settle_currency     text        NOT NULL,
    is_inverse          boolean     NOT NULL DEFAULT false,
    contract_multiplier numeric     NOT NULL DEFAULT 1 CHECK (contract_multiplier > 0),
    price_increment     numeric     NOT NULL CHECK (price_increment > 0),
    size_increment      numeric     NOT NULL CHECK (size_increment > 0),
    min_quantity        numeric,
    min_notional        numeric,
    expiry              timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (trader_id, instrument_id)
);
CREATE INDEX instruments_canonical ON instruments (trader_id, canonical_id);

-- One row per order per trader. Static fields come from OrderInitialized; status, venue order id and fill totals
-- from later events. filled_qty and avg_px are recomputed from the fills table, never counted from events.
CREATE TABLE unified_orders (
    trader_id        text        NOT NULL,
    client_order_id  text        NOT NULL,
    venue_order_id   text,
    strategy_id      text,
    venue            text        NOT NULL,
    account_id       text,
    instrument_id    text        NOT NULL,
    canonical_id     text        NOT NULL,
    side             text        CHECK (side IN ('BUY', 'SELL')),
    order_type       text,
    time_in_force    text,
    quantity         numeric     CHECK (quantity > 0),
    price            numeric,
    trigger_price    numeric,
    reduce_only      boolean,                           -- NULL until OrderInitialized is seen
    post_only        boolean,
    -- lifecycle_status never moves backwards (rank guarded); pending_action is the transient PENDING_* state.
    lifecycle_status text        NOT NULL,
    lifecycle_rank   smallint    NOT NULL,
    pending_action   text        CHECK (pending_action IN ('UPDATE', 'CANCEL')),
    pending_ns       bigint      NOT NULL DEFAULT 0,
    status           text        GENERATED ALWAYS AS (
                         CASE WHEN pending_action IS NOT NULL AND lifecycle_rank < 100
                              THEN 'PENDING_' || pending_action ELSE lifecycle_status END) STORED,
    filled_qty       numeric     NOT NULL DEFAULT 0,
    avg_px           numeric,
    reason           text,                              -- the last reject / deny / cancel-reject reason
    first_event_at   timestamptz NOT NULL,
    first_event_ns   bigint      NOT NULL,
    last_event_at    timestamptz NOT NULL,
    last_event_ns    bigint      NOT NULL,
    updated_ns       bigint      NOT NULL DEFAULT 0,    -- ts of the last applied OrderUpdated
    PRIMARY KEY (trader_id, client_order_id)
);
CREATE INDEX unified_orders_open ON unified_orders (trader_id, venue, status) WHERE lifecycle_rank < 100;
CREATE INDEX unified_orders_venue_order ON unified_orders (trader_id, venue, venue_order_id);
CREATE INDEX unified_orders_last_event ON unified_orders (trader_id, last_event_at DESC);

-- Append-only log of every order event NautilusTrader published; event_id is the event's UUID.
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
    PRIMARY KEY (trader_id, event_id)
);
CREATE INDEX order_events_order ON order_events (trader_id, client_order_id, ts_event_ns);

-- One row per execution. Venues number trades per symbol, so the instrument is part of the identity.
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
    quantity            numeric     NOT NULL CHECK (quantity > 0),   -- venue units (contracts where it trades contracts)
    base_quantity       numeric     NOT NULL CHECK (base_quantity > 0),
    price               numeric     NOT NULL,
    commission          numeric     NOT NULL,
    commission_currency text        NOT NULL,
    liquidity_side      text        NOT NULL CHECK (liquidity_side IN ('MAKER', 'TAKER', 'NO_LIQUIDITY_SIDE')),
    event_id            uuid        NOT NULL,
    ts_event            timestamptz NOT NULL,
    ts_event_ns         bigint      NOT NULL,
    PRIMARY KEY (trader_id, venue, account_id, instrument_id, trade_id)
);
CREATE INDEX fills_time ON fills (trader_id, ts_event DESC);
CREATE INDEX fills_order ON fills (trader_id, client_order_id);

-- Net position per canonical instrument across venue accounts, in base units.
CREATE TABLE unified_positions (
    trader_id        text        NOT NULL,
    canonical_id     text        NOT NULL,
    net_quantity     numeric     NOT NULL,              -- signed, base units
    avg_entry_price  numeric,
    realized_pnl     numeric     NOT NULL DEFAULT 0,
    unrealized_pnl   numeric     NOT NULL DEFAULT 0,
    pnl_currency     text,
    venue_positions  jsonb       NOT NULL DEFAULT '{}', -- {account_id: {venue, instrument_id, side, quantity, ...}}
    updated_at       timestamptz NOT NULL,
    updated_ns       bigint      NOT NULL,
    PRIMARY KEY (trader_id, canonical_id)
);

CREATE TABLE position_history (
    id               bigserial   PRIMARY KEY,
    trader_id        text        NOT NULL,
    canonical_id     text        NOT NULL,
    net_quantity     numeric     NOT NULL,
    avg_entry_price  numeric,
    realized_pnl     numeric     NOT NULL,
    unrealized_pnl   numeric     NOT NULL,
    pnl_currency     text,
    venue_positions  jsonb       NOT NULL,
    recorded_at      timestamptz NOT NULL,
    recorded_ns      bigint      NOT NULL
);
CREATE INDEX position_history_lookup ON position_history (trader_id, canonical_id, recorded_ns DESC);

-- Current balances per venue account and currency.
CREATE TABLE account_balances (
    trader_id        text        NOT NULL,
    account_id       text        NOT NULL,
    currency         text        NOT NULL,
    total            numeric     NOT NULL,
    free             numeric     NOT NULL,
    locked           numeric     NOT NULL,
    updated_at       timestamptz NOT NULL,
    updated_ns       bigint      NOT NULL,
    PRIMARY KEY (trader_id, account_id, currency)
);

-- Current margins of derivatives accounts, per instrument (or per currency for account-wide margin).
CREATE TABLE account_margins (
    trader_id        text        NOT NULL,
    account_id       text        NOT NULL,
    margin_key       text        NOT NULL,              -- instrument id, or currency for account-wide margin
    currency         text        NOT NULL,
    initial          numeric     NOT NULL,
    maintenance      numeric     NOT NULL,
    updated_at       timestamptz NOT NULL,
    updated_ns       bigint      NOT NULL,
    PRIMARY KEY (trader_id, account_id, margin_key)
);

-- Append-only account states: one row per AccountState event that changed something.
CREATE TABLE account_state_history (
    trader_id        text        NOT NULL,
    event_id         uuid        NOT NULL,
    account_id       text        NOT NULL,
    balances         jsonb       NOT NULL,
    margins          jsonb       NOT NULL,
    ts_event         timestamptz NOT NULL,
    ts_event_ns      bigint      NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (trader_id, event_id)
);
CREATE INDEX account_state_history_lookup ON account_state_history (trader_id, account_id, ts_event_ns DESC);

-- Events the writer could not store (a constraint or data error), kept with the cause so nothing is silently lost.
CREATE TABLE dead_letters (
    id               bigserial   PRIMARY KEY,
    trader_id        text        NOT NULL,
    kind             text        NOT NULL,              -- order_event / account_state
    event_id         text        NOT NULL,
    payload          jsonb       NOT NULL,
    error            text        NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now()
);
