-- The campaigns store, version 6 (SQLite): two tables lose a b-tree each
-- row wrote and each lookup walked.
-- * `changes.seq` becomes the table's own key (INTEGER PRIMARY KEY, the
--   rowid): `BIGINT PRIMARY KEY` kept a separate index from `seq` to a
--   hidden rowid, so every entry was written twice over and every read of
--   an entry by `seq` (a listing's JSON, the change feed) looked it up twice.
-- * `campaigns` is stored by its key (WITHOUT ROWID): its rows are small
--   (the JSON is in the log) and always found by (source, native_id), which
--   was an index beside a rowid table.
-- Both are copied as they are; the secondary indexes are made again.
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
