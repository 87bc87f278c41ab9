-- The campaigns store, version 6 (SQLite): the change log's `seq` becomes
-- the table's own key (INTEGER PRIMARY KEY, the rowid). `BIGINT PRIMARY
-- KEY` kept a separate index from `seq` to a hidden rowid, which every
-- entry was written to as well and every read of an entry by `seq` (a
-- listing's JSON, the change feed) went through first. The log is copied as it is and
-- its index made again. PostgreSQL's table already has this shape.
CREATE TABLE changes_v6 (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('added', 'updated', 'deleted')),
    source TEXT NOT NULL,
    native_id TEXT NOT NULL,
    run BIGINT NOT NULL,
    campaign TEXT NOT NULL
);
INSERT INTO changes_v6 (seq, at, action, source, native_id, run, campaign)
SELECT seq, at, action, source, native_id, run, campaign FROM changes ORDER BY seq;
DROP TABLE changes;
ALTER TABLE changes_v6 RENAME TO changes;
CREATE INDEX changes_by_source ON changes (source, seq);
