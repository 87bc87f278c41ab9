-- The campaigns store, version 5: a partition's sync state remembers when
-- an incremental read last checked whether the provider honours the sort
-- it relies on (newest change first), and what it found. A check found
-- good spares the extra request of the check on the reads of the next day;
-- one found broken makes those reads whole.
ALTER TABLE sync_state ADD COLUMN sort_checked_at TEXT;
ALTER TABLE sync_state ADD COLUMN sort_honoured BIGINT;
