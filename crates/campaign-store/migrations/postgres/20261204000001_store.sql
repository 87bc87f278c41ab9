-- The campaigns store, version 1, for PostgreSQL; the same tables exist for
-- SQLite (../sqlite). Text columns sort byte-wise (COLLATE "C"), as there.

-- One row: counters that must not have gaps (a sequence would skip values
-- on rollback), bumped inside the transaction that uses them.
CREATE TABLE store_counters (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    next_seq BIGINT NOT NULL,
    next_run BIGINT NOT NULL
);
INSERT INTO store_counters (id, next_seq, next_run) VALUES (1, 1, 1);

-- Timestamps are RFC 3339 text, UTC, nine fraction digits: fixed width, so
-- they compare as text the way they compare as instants.
CREATE TABLE campaigns (
    source TEXT COLLATE "C" NOT NULL,
    native_id TEXT COLLATE "C" NOT NULL,
    part TEXT COLLATE "C" NOT NULL,
    provider TEXT NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    channel TEXT NOT NULL,
    status TEXT,
    priority BIGINT,
    dialing_mode TEXT,
    created_at TEXT COLLATE "C",
    updated_at TEXT COLLATE "C",
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
    source TEXT COLLATE "C" NOT NULL,
    native_id TEXT COLLATE "C" NOT NULL,
    run BIGINT NOT NULL,
    campaign TEXT NOT NULL
);
CREATE INDEX changes_by_source ON changes (source, seq);

-- One row per source partition and sync run.
CREATE TABLE runs (
    run BIGINT NOT NULL,
    source TEXT COLLATE "C" NOT NULL,
    part TEXT COLLATE "C" NOT NULL,
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
    source TEXT COLLATE "C" NOT NULL,
    part TEXT COLLATE "C" NOT NULL,
    last_full_at TEXT,
    bookmark TEXT,
    PRIMARY KEY (source, part)
);

