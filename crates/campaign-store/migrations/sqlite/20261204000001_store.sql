-- The campaigns store, version 1. The same tables exist for PostgreSQL
-- (../postgres); text columns there sort byte-wise (COLLATE "C"), as here.

-- One row: counters that must not have gaps (a sequence would skip values
-- on rollback), bumped inside the transaction that uses them.
CREATE TABLE store_counters (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    next_seq BIGINT NOT NULL,
    next_run BIGINT NOT NULL
);
INSERT INTO store_counters (id, next_seq, next_run) VALUES (1, 1, 1);

-- Timestamps are RFC 3339 text, UTC, nine fraction digits: fixed width, so
-- they compare as text the way they compare as instants.
CREATE TABLE campaigns (
    source TEXT NOT NULL,
    native_id TEXT NOT NULL,
    part TEXT NOT NULL,
    provider TEXT NOT NULL,
    name TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT,
    priority BIGINT,
    dialing_mode TEXT,
    created_at TEXT,
    updated_at TEXT,
    campaign TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    deleted_at TEXT,
    PRIMARY KEY (source, native_id)
);
CREATE INDEX campaigns_by_part ON campaigns (source, part);
CREATE INDEX campaigns_by_created ON campaigns (created_at, source, native_id);
CREATE INDEX campaigns_by_updated ON campaigns (updated_at, source, native_id);
CREATE INDEX campaigns_by_name ON campaigns (name, source, native_id);

CREATE TABLE changes (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('added', 'updated', 'deleted')),
    source TEXT NOT NULL,
    native_id TEXT NOT NULL,
    run BIGINT NOT NULL,
    campaign TEXT NOT NULL
);
CREATE INDEX changes_by_source ON changes (source, seq);

-- One row per source partition and sync run.
CREATE TABLE runs (
    run BIGINT NOT NULL,
    source TEXT NOT NULL,
    part TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    full_listing BIGINT NOT NULL,
    added BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    deleted BIGINT NOT NULL,
    unchanged BIGINT NOT NULL,
    skipped BIGINT NOT NULL,
    requests BIGINT NOT NULL,
    error TEXT,
    PRIMARY KEY (run, source, part)
);

CREATE TABLE sync_state (
    source TEXT NOT NULL,
    part TEXT NOT NULL,
    last_full_at TEXT,
    bookmark TEXT,
    PRIMARY KEY (source, part)
);

