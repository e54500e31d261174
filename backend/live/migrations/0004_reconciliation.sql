-- Every difference found between the OMS and what a venue did (start-up, reconnect and periodic audits, fill totals
-- above an order's quantity, fills NautilusTrader inferred itself), what was done about it, and whether that
-- resolved it. A repeat of the same difference (dedupe_key) updates its row instead of adding one.

CREATE TABLE reconciliation_events (
    id               bigserial   PRIMARY KEY,
    trader_id        text        NOT NULL,
    detected_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at     timestamptz NOT NULL DEFAULT now(),
    seen_count       integer     NOT NULL DEFAULT 1,
    source           text        NOT NULL,              -- start / reconnect / interval / on_demand / writer
    client_id        text,                              -- the exec client whose venue was asked
    account_id       text,
    instrument_id    text,
    client_order_id  text,
    venue_order_id   text,
    trade_id         text,
    kind             text        NOT NULL CHECK (kind IN ('missing_fill', 'phantom_fill', 'inferred_fill', 'status',
                                                          'quantity', 'position', 'missing_order')),
    oms_value        text,                              -- what the OMS had
    venue_value      text,                              -- what the venue reported
    detail           text        NOT NULL,
    action           text        NOT NULL,              -- what the audit did (or 'reported' when it changed nothing)
    resolved         boolean     NOT NULL,
    resolved_at      timestamptz,
    dedupe_key       text        NOT NULL,
    UNIQUE (trader_id, dedupe_key)
);
CREATE INDEX reconciliation_events_recent ON reconciliation_events (trader_id, detected_at DESC);
CREATE INDEX reconciliation_events_open ON reconciliation_events (trader_id, kind) WHERE NOT resolved;
