-- Account states in a stable order, and every state event remembered.
--
-- Venues stamp states in milliseconds, so several states of one account can share a time (an order locking funds and
-- its fill). Among them the one stored last is the newest: `seq` keeps the order rows were stored in.
-- A state equal to the account's previous one adds no history row; its event id is kept in account_state_repeats so
-- a replay of it is recognised as one (and cannot be compared with a state stored after it).

ALTER TABLE account_state_history ADD COLUMN seq bigserial NOT NULL;
DROP INDEX account_state_history_lookup;
CREATE INDEX account_state_history_lookup ON account_state_history (trader_id, account_id, ts_event_ns DESC, seq DESC);

CREATE TABLE account_state_repeats (
    trader_id        text        NOT NULL,
    event_id         uuid        NOT NULL,
    account_id       text        NOT NULL,
    ts_event_ns      bigint      NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (trader_id, event_id)
);
