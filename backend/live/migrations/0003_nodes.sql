-- One row per trader id: the node that holds (or last held) it. The node takes a PostgreSQL advisory lock for its
-- trader id before it trades (backend/live/node_lock.py); this table says who that is, for the refusal message
-- given to a second node and for `live nodes`. Whether a node runs is the lock itself (pg_locks), not this row.
CREATE TABLE nodes (
    trader_id       TEXT PRIMARY KEY,
    host            TEXT NOT NULL,
    pid             INTEGER NOT NULL,
    version         TEXT NOT NULL,
    started_at      TIMESTAMPTZ NOT NULL,
    last_heartbeat  TIMESTAMPTZ NOT NULL,
    stopped_at      TIMESTAMPTZ,
    lock_key        BIGINT NOT NULL
);
