-- The campaigns store, version 4: a campaign's JSON is stored once, in the
-- change log, and its row points at the entry that holds its current state
-- (`seq`: its last `added` or `updated` entry; a deleted campaign keeps the
-- one it had, which its `deleted` entry repeats). Each write of a campaign
-- wrote its JSON twice before, which made the campaigns table as large as
-- the log and every scan of it (an index build, a listing by a filter)
-- read all of that JSON.
ALTER TABLE campaigns ADD COLUMN seq BIGINT;
UPDATE campaigns SET seq = latest.seq
FROM (
    SELECT source, native_id, MAX(seq) AS seq FROM changes
    WHERE action <> 'deleted' GROUP BY source, native_id
) AS latest
WHERE campaigns.source = latest.source AND campaigns.native_id = latest.native_id;
ALTER TABLE campaigns ALTER COLUMN seq SET NOT NULL;
ALTER TABLE campaigns DROP COLUMN campaign;
